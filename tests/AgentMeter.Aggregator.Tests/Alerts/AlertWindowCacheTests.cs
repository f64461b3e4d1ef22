using System.Globalization;
using AgentMeter.Aggregator.Alerts;
using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Alerts;

/// <summary>
/// The safety net of the raw-segment cache (<see cref="AlertWindowQueries"/>): over many cycles, with
/// late events, events at "now", cost rates changed, windows crossing hour and day boundaries, every
/// alert's values from the cache kept across cycles equal those of a fresh read with an empty cache, and
/// (tokens, callCount, errorRate) those of one plain SQL query per alert over usage_events_estimated —
/// the per-alert query evaluation used to amount to.
/// </summary>
public class AlertWindowCacheTests
{
    // 22:17:23.456: the cycles below cross midnight and several hours.
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 22, 17, 23, 456, TimeSpan.Zero);
    private static readonly string[] Metrics = ["tokens", "cost", "callCount", "errorRate", "p95LatencyMs"];
    private static readonly string[] Windows = ["7m", "1h", "95m", "26h"];

    [Fact]
    public async Task CachedSegmentsGiveTheValuesOfAFreshReadAndOfAPlainQueryPerAlert()
    {
        var yaml = string.Concat(
            from metric in Metrics
            from window in Windows
            from shape in new[] { 0, 1, 2, 3 }
            select shape switch
            {
                0 => AlertKit.Alert($"{metric}-{window}-all".ToLowerInvariant(), metric, "1", window),
                1 => AlertKit.Alert($"{metric}-{window}-agent".ToLowerInvariant(), metric, "1", window, groupBy: "agent"),
                2 => AlertKit.Alert($"{metric}-{window}-tenant".ToLowerInvariant(), metric, "1", window, filter: "  filter:\n    tenantId: tenant-1\n"),
                _ => AlertKit.Alert($"{metric}-{window}-tool".ToLowerInvariant(), metric, "1", window, groupBy: "tool",
                    filter: "  filter:\n    model: gpt-4o\n    serverLabel: server-0\n"),
            });
        await using var kit = await AlertKit.CreateAsync(yaml, Start);
        var alerts = kit.Store.Current.UsageAlerts.Select(a => AlertDefinition.From(a, out _)!).ToList();
        var random = new Random(18);
        await using (var conn = await kit.Data.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from)
                VALUES ('gpt-4o', 'gpt-4o', 'USD', 2.5, 10, '2026-01-01'), ('small', 'small', 'USD', 0.1, 0.4, '2026-01-01');
                """);
        await EventsAsync(kit.Data, random, Start.AddHours(-30), Start, 4000);

        var warm = new AlertWindowQueries(kit.Data);
        TimeSpan[] steps = [TimeSpan.FromMinutes(7.3), TimeSpan.FromMinutes(53), TimeSpan.FromSeconds(61), TimeSpan.FromMinutes(64), TimeSpan.FromSeconds(7),
            TimeSpan.FromMinutes(29), TimeSpan.FromHours(1), TimeSpan.FromMinutes(3)];
        var checkedValues = 0;
        for (var cycle = 0; cycle <= steps.Length; cycle++)
        {
            var now = kit.Time.GetUtcNow();
            var cache = new AlertWindowQueries.CycleCache();
            foreach (var byWindow in alerts.GroupBy(a => a.Window))
            {
                var cached = await warm.LoadAsync(now - byWindow.Key, now, cache, CancellationToken.None);
                var fresh = await new AlertWindowQueries(kit.Data).LoadAsync(now - byWindow.Key, now, new AlertWindowQueries.CycleCache(), CancellationToken.None);
                foreach (var alert in byWindow)
                {
                    var value = Describe(AlertCalculator.Compute(alert, cached));
                    Assert.Equal(Describe(AlertCalculator.Compute(alert, fresh)), value);
                    if (alert.Metric is AlertMetrics.Tokens or AlertMetrics.CallCount or AlertMetrics.ErrorRate)
                        Assert.Equal(await PlainQueryAsync(kit.Data, alert, now), value);
                    checkedValues++;
                }
            }
            warm.EndCycle(cache);
            if (cycle == steps.Length) break;

            // Late events anywhere in the last 30 hours, events at this very instant, then time moves on.
            await EventsAsync(kit.Data, random, now.AddHours(-30), now, 40);
            await EventsAsync(kit.Data, random, now, now, 3);
            if (cycle == 4)
                await using (var conn = await kit.Data.OpenConnectionAsync())
                    await conn.ExecuteAsync("UPDATE cost_rates SET output_per_million = 12 WHERE name = 'gpt-4o'");
            kit.Time.Advance(steps[cycle]);
        }
        Assert.True(checkedValues > 500, $"only {checkedValues} values compared");
    }

    [Fact]
    public async Task ADayPartitionEmptiedInPlaceIsReadAgain()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "1", "1h"), Start);
        var alert = AlertDefinition.From(kit.Store.Current.UsageAlerts.Single(), out _)!;
        // Closed minutes of the window: grouped once, then kept across cycles.
        await EventsAsync(kit.Data, new Random(5), Start.AddMinutes(-10), Start.AddMinutes(-5), 20);
        var warm = new AlertWindowQueries(kit.Data);
        async Task<string> CycleAsync()
        {
            var now = kit.Time.GetUtcNow();
            var cache = new AlertWindowQueries.CycleCache();
            var value = Describe(AlertCalculator.Compute(alert, await warm.LoadAsync(now - alert.Window, now, cache, CancellationToken.None)));
            warm.EndCycle(cache);
            Assert.Equal(await PlainQueryAsync(kit.Data, alert, now), value);
            return value;
        }
        var before = await CycleAsync();

        // TRUNCATE keeps the partition (its oid) but not one of its rows, and leaves no newer ingested_at behind.
        await using (var conn = await kit.Data.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events");
        kit.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotEqual(before, await CycleAsync());
    }

    /// <summary>An alert's groups and values (or errors) as one comparable line.</summary>
    private static string Describe(AlertValues v) =>
        v.Error ?? string.Join("; ", v.Groups.OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={AlertCalculator.Format(g.Value)}")
            .Concat((v.GroupErrors ?? new Dictionary<string, string>()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}!{g.Value}")));

    /// <summary>The alert's value by one query of its own over the raw events (all of them raw here: no day is aggregated).</summary>
    private static async Task<string> PlainQueryAsync(NpgsqlDataSource db, AlertDefinition alert, DateTimeOffset now)
    {
        var group = alert.GroupBy is null ? "''" : $"coalesce({Dimension.Find(alert.GroupBy)!.EventColumn}, '')";
        var filters = Dimension.All.Where(d => d.FilterValue(alert.Filter) is not null)
            .Select(d => $" AND coalesce({d.EventColumn}, '') = '{d.FilterValue(alert.Filter)}'");
        var value = alert.Metric switch
        {
            AlertMetrics.Tokens => "sum(estimated_input_tokens) + sum(estimated_output_tokens)",
            AlertMetrics.CallCount => "count(*) FILTER (WHERE type = 'tool_call')",
            // Failures ÷ calls, rounded below as the evaluator rounds (to even).
            _ => "count(*) FILTER (WHERE status = 'failure')::numeric * 1000000000 + count(*) FILTER (WHERE type = 'tool_call')",
        };
        await using var conn = await db.OpenConnectionAsync();
        var rows = (await conn.QueryAsync<(string Group, decimal? Value)>(
            $"SELECT {group}, {value} FROM usage_events_estimated WHERE time >= @from AND time <= @now{string.Concat(filters)} GROUP BY 1",
            new { from = (now - alert.Window).UtcDateTime, now = now.UtcDateTime })).Where(r => r.Value is not null).ToList();
        if (alert.Metric == AlertMetrics.ErrorRate)
            rows = rows.Select(r => (r.Group, Calls: r.Value!.Value % 1000000000, Failures: Math.Floor(r.Value.Value / 1000000000)))
                .Where(r => r.Calls > 0).Select(r => (r.Group, (decimal?)Math.Round(r.Failures / r.Calls, 6))).ToList();
        if (rows.Count == 0 && alert.GroupBy is null && alert.Metric != AlertMetrics.ErrorRate) rows.Add(("", 0));
        return string.Join("; ", rows.OrderBy(r => r.Group, StringComparer.Ordinal).Select(r => $"{r.Group}={AlertCalculator.Format(r.Value!.Value)}"));
    }

    /// <summary>Tool and model calls at random times in [from, to], spread over agents, tenants, tools, servers, models and statuses.</summary>
    private static async Task EventsAsync(NpgsqlDataSource db, Random random, DateTimeOffset from, DateTimeOffset to, int count)
    {
        var times = Enumerable.Range(0, count).Select(_ => from.AddTicks((long)(random.NextDouble() * (to - from).Ticks)).UtcDateTime).ToArray();
        await using var conn = await db.OpenConnectionAsync();
        foreach (var day in times.Select(t => t.Date).Distinct())
            await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition(@day::date)", new { day });
        string?[] models = ["gpt-4o", "small", "unpriced", null];
        await conn.ExecuteAsync(
            """
            INSERT INTO usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, model, status, latency_ms,
                                      request_bytes, response_bytes, input_tokens, output_tokens)
            SELECT t, CASE WHEN i % 7 = 0 THEN 'model_call' ELSE 'tool_call' END, 'agent-' || (i % 5), 'tool-' || (i % 3), 'server-' || (i % 2),
                   'user-' || (i % 4), CASE WHEN i % 6 = 0 THEN NULL ELSE 'tenant-' || (i % 3) END, (@models)[1 + i % 4],
                   CASE WHEN i % 7 = 0 THEN NULL WHEN i % 5 = 0 THEN 'failure' ELSE 'success' END, (i * 37) % 3000,
                   1000 + i % 5000, 4000 + i % 9000, CASE WHEN i % 3 = 0 THEN 500 + i % 700 END, CASE WHEN i % 3 = 0 THEN 100 + i % 300 END
            FROM unnest(@times, @ids) AS x(t, i)
            """, new { times, ids = times.Select(_ => random.Next(0, 1_000_000)).ToArray(), models });
    }
}
