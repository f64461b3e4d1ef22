using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Health;
using AgentMeter.Operator.Kubernetes;
using Microsoft.Extensions.Logging.Abstractions;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Operator.Tests.Machinery;

/// <summary>The loop under status sync and resync, on a fake clock: failures never end it, Retry-After is honoured, stalls are visible.</summary>
public class PeriodicLoopTests
{
    [Fact]
    public async Task AFailedCycleIsRetriedAfterTheServersRetryAfterAndTheLoopGoesOn()
    {
        var time = new SignallingTimeProvider();
        var health = new LoopHealth(time);
        var calls = 0;
        var called = new SemaphoreSlim(0);
        using var cts = new CancellationTokenSource();
        var loop = new PeriodicLoop("status-sync", TimeSpan.FromSeconds(30), health, time, NullLogger.Instance).RunAsync(_ =>
        {
            var n = Interlocked.Increment(ref calls);
            called.Release();
            return n switch
            {
                1 => throw new ApiRefusedException("get of secrets refused: HTTP 429", System.Net.HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(45)),
                2 => throw new InvalidOperationException("a bug, not an API error"),
                _ => Task.CompletedTask,
            };
        }, cts.Token, runFirst: true);

        Assert.True(await called.WaitAsync(TimeSpan.FromSeconds(10)));
        await time.NextTimerAsync();
        time.Advance(TimeSpan.FromSeconds(44));
        Assert.False(await called.WaitAsync(TimeSpan.FromMilliseconds(100)), "retried before Retry-After");
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await called.WaitAsync(TimeSpan.FromSeconds(10)), "retried at Retry-After");
        // Any exception is a failed cycle, never the end of the loop: the backoff stays near the period.
        await time.NextTimerAsync();
        time.Advance(TimeSpan.FromSeconds(36));
        Assert.True(await called.WaitAsync(TimeSpan.FromSeconds(10)), "retried after a failure that was not an API error");
        Assert.False(loop.IsCompleted);
        Assert.Empty(health.Stalled());

        await cts.CancelAsync();
        await loop;
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task ALoopThatKeepsFailingIsStalledAndRecoversWhenACycleCompletes()
    {
        var time = new SignallingTimeProvider();
        var health = new LoopHealth(time, stallPeriods: 3);
        var failing = true;
        var called = new SemaphoreSlim(0);
        using var cts = new CancellationTokenSource();
        var loop = new PeriodicLoop("status-sync", TimeSpan.FromSeconds(10), health, time, NullLogger.Instance).RunAsync(_ =>
        {
            called.Release();
            return Volatile.Read(ref failing) ? throw new HttpRequestException("HTTP 500", null, System.Net.HttpStatusCode.InternalServerError) : Task.CompletedTask;
        }, cts.Token, runFirst: true);

        for (var i = 0; i < 4; i++)
        {
            Assert.True(await called.WaitAsync(TimeSpan.FromSeconds(10)));
            await time.NextTimerAsync();
            Assert.Empty(health.Stalled());
            time.Advance(TimeSpan.FromSeconds(10)); // backoff 1, 2, 4, 8 s (±20 %)
        }
        Assert.True(await called.WaitAsync(TimeSpan.FromSeconds(10)));
        var stalled = Assert.Single(health.Stalled());
        Assert.StartsWith("status-sync: no completed cycle for 40 s (period 10.0 s)", stalled);

        Volatile.Write(ref failing, false);
        await time.NextTimerAsync();
        time.Advance(TimeSpan.FromSeconds(12));
        Assert.True(await called.WaitAsync(TimeSpan.FromSeconds(10)));
        await PollAsync(() => health.Stalled().Count == 0);

        await cts.CancelAsync();
        await loop;
        Assert.Empty(health.Stalled());
    }

    private static async Task PollAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }
}
