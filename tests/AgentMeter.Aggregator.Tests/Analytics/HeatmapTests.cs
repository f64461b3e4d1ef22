using System.Net.Http.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Analytics;

namespace AgentMeter.Aggregator.Tests.Analytics;

public class HeatmapTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>
{
    [Fact]
    public async Task TheHourlyRollupCountsToolCallsPerUtcHourAndWeekday()
    {
        // 2026-11-02 is a Monday.
        var day = new DateOnly(2026, 11, 2);
        await using (var cmd = api.Db.CreateCommand(
            """
            SELECT agentmeter_ensure_event_partition('2026-11-02');
            SELECT agentmeter_ensure_event_partition('2026-11-03');
            INSERT INTO usage_events (time, type, tool_name, tenant_id, status) VALUES
              ('2026-11-02T13:05:00Z', 'tool_call', 'search', 't1', 'success'),
              ('2026-11-02T13:59:59Z', 'tool_call', 'search', 't1', 'failure'),
              ('2026-11-02T14:00:00Z', 'tool_call', 'search', 't1', 'success'),
              ('2026-11-02T23:30:00-02:00', 'tool_call', 'fetch', 't2', 'success'),  -- 01:30 UTC next day: not this day
              ('2026-11-02T08:00:00Z', 'agent_request', NULL, 't1', NULL),
              ('2026-11-02T09:00:00Z', 'tool_call', 'fetch', NULL, 'success');
            """))
            await cmd.ExecuteNonQueryAsync();

        await using (var conn = await api.Db.OpenConnectionAsync())
        await using (var tx = await conn.BeginTransactionAsync())
        {
            await new HourlyToolRollup().WriteAsync(conn, tx, new DayPass(day, 0, "usage_events"), CancellationToken.None);
            await tx.CommitAsync();
        }

        // Only the day rolled up here: the host's own catch-up pass at start may aggregate 2026-11-03 as well
        // (its fetch call at 01:30 UTC is then a cell of that Tuesday, rightly).
        using var client = api.Admin();
        var heatmap = (await client.GetFromJsonAsync<HeatmapResponse>("/api/v1/analytics/heatmap?from=2026-11-02&to=2026-11-02"))!;
        Assert.Equal(["search", "fetch"], heatmap.Tools);
        Assert.Equal(
            [new HeatmapCell("search", 1, 13, 2), new HeatmapCell("search", 1, 14, 1), new HeatmapCell("fetch", 1, 9, 1)],
            heatmap.Cells);

        var t1 = (await client.GetFromJsonAsync<HeatmapResponse>("/api/v1/analytics/heatmap?from=2026-11-02&to=2026-11-02&tenant=t1"))!;
        Assert.Equal(["search"], t1.Tools);
    }
}
