using AgentMeter.Aggregator.Database;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Aggregator.Tests.Database;

public sealed class RecurringJobTests
{
    /// <summary>A job whose runs take real time, resting four times as long after each (a share of 0.2).</summary>
    private sealed class SlowJob(MigrationState migrations, TimeProvider time) : RecurringJob(migrations, time, NullLogger.Instance)
    {
        public readonly List<TimeSpan> Took = [];
        public int Runs;
        protected override TimeSpan Interval => TimeSpan.FromMilliseconds(500);
        protected override string Name => "Slow job";

        protected override async Task RunOnceAsync(CancellationToken ct)
        {
            var started = TimeProvider.System.GetTimestamp();
            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            lock (Took) Took.Add(TimeProvider.System.GetElapsedTime(started));
            Interlocked.Increment(ref Runs);
        }

        protected override TimeSpan RestAfter(TimeSpan took) => took * 4;
    }

    [Fact]
    public async Task ARunThatTakesLongRestsBeforeTheNextEvenWhenTheIntervalHasPassed()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-09T10:00:00Z"));
        var migrations = new MigrationState();
        migrations.MarkCompleted();
        var job = new SlowJob(migrations, clock);
        await job.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => Volatile.Read(ref job.Runs) == 1);
            // The interval has passed, but the rest (4 × at least 250 ms) has not: no second run.
            clock.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            Assert.Equal(1, Volatile.Read(ref job.Runs));
            // Past the rest the missed tick runs it at once.
            clock.Advance(job.Took[0] * 4);
            await WaitUntilAsync(() => Volatile.Read(ref job.Runs) == 2);
        }
        finally
        {
            await job.StopAsync(CancellationToken.None);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the job did not run");
            await Task.Delay(20);
        }
    }
}
