using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.SelfMonitoring;
using AgentMeter.Aggregator.Tests.SelfMonitoring;
using Microsoft.Extensions.Logging.Testing;

namespace AgentMeter.Aggregator.Tests.Retention;

public class RetentionSchedulerTests
{
    private static async Task<List<DateTimeOffset>> RunsAsync(RetentionRig rig)
    {
        await using var cmd = rig.Db.CreateCommand("SELECT started_at FROM job_runs WHERE job = 'retention' AND result = 'Succeeded' ORDER BY id");
        var runs = new List<DateTimeOffset>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) runs.Add(r.GetFieldValue<DateTimeOffset>(0));
        return runs;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        for (var i = 0; i < 200; i++)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }
        Assert.Fail($"timed out waiting for {what}");
    }

    /// <summary>Moves the fake clock on in 15 s steps until the scheduler has run <paramref name="count"/> passes; returns the last one's start.</summary>
    private static async Task<DateTimeOffset> AdvanceUntilRunAsync(RetentionRig rig, int count)
    {
        for (var step = 0; step < 20; step++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(15));
            for (var i = 0; i < 20; i++)
            {
                var runs = await RunsAsync(rig);
                if (runs.Count >= count) return runs[^1];
                await Task.Delay(50);
            }
        }
        Assert.Fail($"no retention pass number {count} within 5 minutes of fake time");
        return default;
    }

    [Fact]
    public async Task ThePassRunsAtTheScheduleInThePolicysTimeZoneAndAPolicyChangeReplansIt()
    {
        // 01:30 in Berlin (CEST, UTC+2) is 23:30 UTC the day before.
        await using var rig = await RetentionRig.StartAsync("schedule: \"30 1 * * *\"\ntimeZone: Europe/Berlin",
            new DateTimeOffset(2026, 7, 10, 23, 0, 0, TimeSpan.Zero));
        var migrations = new MigrationState();
        migrations.MarkCompleted();
        var log = new FakeLogger<RetentionScheduler>();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var scheduler = new RetentionScheduler(rig.Pass, rig.Store, migrations, new SelfMetrics(registry), rig.Time, log);
        await scheduler.StartAsync(CancellationToken.None);
        try
        {
            await WaitForAsync(() => Task.FromResult(log.Collector.GetSnapshot().Any(r => r.Message.Contains("2026-07-10T23:30:00"))), "the first plan");

            rig.Time.Advance(TimeSpan.FromMinutes(29));
            await Task.Delay(300);
            Assert.Empty(await RunsAsync(rig));

            var first = await AdvanceUntilRunAsync(rig, 1);
            Assert.InRange(first, new DateTimeOffset(2026, 7, 10, 23, 30, 0, TimeSpan.Zero), new DateTimeOffset(2026, 7, 10, 23, 31, 0, TimeSpan.Zero));
            // The success is exposed for the staleness alert, at the (fake) time the pass finished.
            await WaitForAsync(async () => await Exposition.ValueAsync(registry, "agentmeter_retention_last_success_timestamp_seconds") is not null,
                "the retention success gauge");
            Assert.InRange((double)(await Exposition.ValueAsync(registry, "agentmeter_retention_last_success_timestamp_seconds"))!,
                first.ToUnixTimeSeconds(), first.ToUnixTimeSeconds() + 60);

            // 03:00 in New York (EDT, UTC−4) on 11 July is 07:00 UTC.
            rig.WritePolicy("schedule: \"0 3 * * *\"\ntimeZone: America/New_York");
            await WaitForAsync(() => Task.FromResult(log.Collector.GetSnapshot().Any(r => r.Message.Contains("2026-07-11T07:00:00"))), "the new plan");
            rig.Time.SetUtcNow(new DateTimeOffset(2026, 7, 11, 6, 59, 0, TimeSpan.Zero));
            await Task.Delay(300);
            Assert.Single(await RunsAsync(rig));
            var second = await AdvanceUntilRunAsync(rig, 2);
            Assert.InRange(second, new DateTimeOffset(2026, 7, 11, 7, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 7, 11, 7, 1, 0, TimeSpan.Zero));
        }
        finally
        {
            await scheduler.StopAsync(CancellationToken.None);
        }
    }
}
