using Microsoft.Extensions.Logging;

namespace AgentMeter.Aggregator.Tests.Retention;

public class EventPartitionTests
{
    private static async Task AddEventsAsync(RetentionRig rig, DateOnly day, int count, bool aggregated)
    {
        await using var conn = await rig.Db.OpenConnectionAsync();
        await UsageSeed.ExecAsync(conn, "SELECT agentmeter_ensure_event_partition($1)", day);
        await UsageSeed.ExecAsync(conn,
            """
            INSERT INTO usage_events (time, type, agent_id, tool_name, status, latency_ms)
            SELECT $1::date + interval '1 minute' * i, 'tool_call', 'agent-a', 'search', 'success', 12
            FROM generate_series(1, $2) i
            """, day, count);
        if (aggregated)
            await UsageSeed.ExecAsync(conn, "INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES ($1, $2, 1)", day, (long)count);
    }

    private static Task<long> RelationsAsync(RetentionRig rig, string name) =>
        UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM pg_class WHERE relname = $1", name);

    [Fact]
    public async Task OldAggregatedDayPartitionsAreDroppedWholeAndUnaggregatedOnesAreKeptWithAWarning()
    {
        // Today 2026-11-29; rawEventRetentionDays 30 keeps days from 2026-10-30.
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90\nrawEventRetentionDays: 30");
        await AddEventsAsync(rig, new DateOnly(2026, 10, 1), 50, aggregated: true);
        await AddEventsAsync(rig, new DateOnly(2026, 10, 2), 40, aggregated: false);
        await AddEventsAsync(rig, new DateOnly(2026, 10, 29), 30, aggregated: true);
        await AddEventsAsync(rig, new DateOnly(2026, 10, 30), 20, aggregated: true);
        await AddEventsAsync(rig, new DateOnly(2026, 11, 29), 10, aggregated: false);
        var result = await rig.RunAsync();

        Assert.True(result.Succeeded, result.Details.Message);
        Assert.Equal(2, result.Details.PartitionsDropped);
        // Dropped means gone from the catalog, not emptied.
        Assert.Equal(0L, await RelationsAsync(rig, "usage_events_20261001"));
        Assert.Equal(0L, await RelationsAsync(rig, "usage_events_20261029"));
        Assert.Equal(1L, await RelationsAsync(rig, "usage_events_20261030"));
        // The unaggregated day keeps every raw event, and the log says why.
        Assert.Equal(["2026-10-02"], result.Details.PartitionsKept);
        Assert.Equal(40L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_events_20261002"));
        var warning = Assert.Single(rig.Log.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("usage_events_20261002"));
        Assert.Contains("not aggregated yet", warning.Message);
        Assert.Equal(10L + 20 + 40, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_events"));
        // Once the day is aggregated, the next pass drops it.
        await using (var conn = await rig.Db.OpenConnectionAsync())
            await UsageSeed.ExecAsync(conn, "INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES ('2026-10-02', 40, 1)");
        var next = await rig.RunAsync();
        Assert.Equal(1, next.Details.PartitionsDropped);
        Assert.Equal(0L, await RelationsAsync(rig, "usage_events_20261002"));
    }

    [Fact]
    public async Task RawEventsAreKeptAsLongAsDailyDataWhenRawRetentionIsUnset()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 40");
        await AddEventsAsync(rig, new DateOnly(2026, 10, 19), 5, aggregated: true); // today − 41: past the cutoff
        await AddEventsAsync(rig, new DateOnly(2026, 10, 20), 5, aggregated: true); // today − 40: kept

        var result = await rig.RunAsync();

        Assert.Equal(1, result.Details.PartitionsDropped);
        Assert.Equal(0L, await RelationsAsync(rig, "usage_events_20261019"));
        Assert.Equal(1L, await RelationsAsync(rig, "usage_events_20261020"));
    }

    [Fact]
    public async Task APartitionWhoseTableStaysLockedIsLeftForTheNextPassWithoutFailingThisOne()
    {
        await using var rig = await RetentionRig.StartAsync("rawEventRetentionDays: 30");
        rig.Options.PartitionDropLockTimeout = TimeSpan.FromMilliseconds(200);
        await AddEventsAsync(rig, new DateOnly(2026, 10, 1), 5, aggregated: true);
        await using var reader = await rig.Db.OpenConnectionAsync();
        await using var reading = await reader.BeginTransactionAsync();
        // A long reader of usage_events (an open transaction that read it) holds a lock DROP must wait for.
        await UsageSeed.ExecAsync(reader, "SELECT count(*) FROM usage_events");

        var busy = await rig.RunAsync();

        Assert.True(busy.Succeeded, busy.Details.Message);
        Assert.Equal(0, busy.Details.PartitionsDropped);
        Assert.Contains(rig.Log.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("usage_events_20261001") && r.Message.Contains("next pass retries"));
        Assert.Equal(1L, await RelationsAsync(rig, "usage_events_20261001"));

        await reading.CommitAsync();
        Assert.Equal(1, (await rig.RunAsync()).Details.PartitionsDropped);
        Assert.Equal(0L, await RelationsAsync(rig, "usage_events_20261001"));
    }

    [Fact]
    public async Task ATableThatIsNotADayPartitionIsNeverTouched()
    {
        await using var rig = await RetentionRig.StartAsync("rawEventRetentionDays: 1");
        await using (var conn = await rig.Db.OpenConnectionAsync())
        {
            await UsageSeed.ExecAsync(conn,
                "CREATE TABLE usage_events_2020_archive PARTITION OF usage_events FOR VALUES FROM ('2020-01-01') TO ('2020-02-01')");
            await UsageSeed.ExecAsync(conn, "INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES ('2020-01-01', 0, 0)");
        }

        var result = await rig.RunAsync();

        Assert.Equal(0, result.Details.PartitionsDropped);
        Assert.Equal(1L, await RelationsAsync(rig, "usage_events_2020_archive"));
    }
}
