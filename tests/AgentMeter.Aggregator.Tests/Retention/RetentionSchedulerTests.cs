using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Retention;
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

    [Fact]
    public async Task ThePassRunsAtTheScheduleInThePolicysTimeZoneAndAPolicyChangeReplansIt()
    {
        // 01:30 in Berlin (CEST, UTC+2) is 23:30 UTC the day before.
        await using var rig = await RetentionRig.StartAsync("schedule: \"30 1 * * *\"\ntimeZone: Europe/Berlin",
            new DateTimeOffset(2026, 7, 10, 23, 0, 0, TimeSpan.Zero));
        var migrations = new MigrationState();
        migrations.MarkCompleted();
        var log = new FakeLogger<RetentionScheduler>();
        var scheduler = new RetentionScheduler(rig.Pass, rig.Store, migrations, rig.Time, log);
        await scheduler.StartAsync(CancellationToken.None);
        try
        {
            await WaitForAsync(() => Task.FromResult(log.Collector.GetSnapshot().Any(r => r.Message.Contains("2026-07-10T23:30:00"))), "the first plan");

            rig.Time.Advance(TimeSpan.FromMinutes(29));
            await Task.Delay(300);
            Assert.Empty(await RunsAsync(rig));

            rig.Time.Advance(TimeSpan.FromMinutes(1));
            await WaitForAsync(async () => (await RunsAsync(rig)).Count == 1, "the 23:30 UTC run");
            Assert.Equal([new DateTimeOffset(2026, 7, 10, 23, 30, 0, TimeSpan.Zero)], await RunsAsync(rig));

            // 03:00 in New York (EDT, UTC−4) on 11 July is 07:00 UTC.
            rig.WritePolicy("schedule: \"0 3 * * *\"\ntimeZone: America/New_York");
            await WaitForAsync(() => Task.FromResult(log.Collector.GetSnapshot().Any(r => r.Message.Contains("2026-07-11T07:00:00"))), "the new plan");
            rig.Time.Advance(TimeSpan.FromHours(7.5));
            await WaitForAsync(async () => (await RunsAsync(rig)).Count == 2, "the 07:00 UTC run");
            Assert.Equal(new DateTimeOffset(2026, 7, 11, 7, 0, 0, TimeSpan.Zero), (await RunsAsync(rig))[1]);
        }
        finally
        {
            await scheduler.StopAsync(CancellationToken.None);
        }
    }
}
