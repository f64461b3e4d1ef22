using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Aggregator.Tests.Retention;

/// <summary>
/// Raw events → the real daily aggregation → the real retention pass, composed as the binary
/// composes them, with a fake clock: totals survive, the monthly p95 is within the documented bound
/// of the exact p95 over the raw events, and the raw partitions are gone.
/// </summary>
public class EndToEndRetentionTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly DateOnly First = new(2026, 6, 20), Last = new(2026, 7, 25);

    [Fact]
    public async Task EventsAggregatedThenRolledUpKeepTheirTotalsAndAnHonestP95()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        await using var app = AggregatorApp.Build(CommandLine.Parse(["retention"]), b =>
        {
            b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = db.ConnectionString;
            b.Services.AddSingleton<TimeProvider>(clock);
        });
        await app.Services.MigrateAsync();
        await WriteEventsAsync(db, First, Last);
        foreach (var r in await app.Services.GetRequiredService<DailyAggregator>().AggregateRangeAsync(First, Last, CancellationToken.None))
            Assert.Equal(DayOutcome.Aggregated, r.Outcome);
        var before = await UsageSeed.AllTotalsAsync(db.DataSource);
        Assert.Contains(before["model"], t => t.Exact.StartsWith("model-b EUR"));
        Assert.Contains(before["model"], t => t.Exact.StartsWith("model-c (unpriced)"));
        // The exact monthly p95 per group, from the raw events, before they are dropped.
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await UsageSeed.ExecAsync(conn,
                """
                CREATE TABLE expected_p95 AS
                SELECT date_trunc('month', time AT TIME ZONE 'UTC')::date AS month, agent_id, tool_name, server_label AS mcp_server_label,
                       user_id, tenant_id, model, percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
                FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6, 7
                """);

        Assert.Equal(0, await app.Services.RunRetentionOnceAsync(CancellationToken.None));

        UsageSeed.AssertSameTotals(before, await UsageSeed.AllTotalsAsync(db.DataSource));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(db.DataSource, "SELECT count(*) FROM usage_stats"));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(db.DataSource, "SELECT count(*) FROM pg_partition_tree('usage_events') WHERE isleaf"));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(db.DataSource, "SELECT count(*) FROM pg_class WHERE relname LIKE 'usage_events_2026%'"));
        var compared = await UsageSeed.ScalarAsync<long>(db.DataSource,
            """
            SELECT count(*) FROM usage_stats_monthly m JOIN expected_p95 e USING (month, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model)
            """);
        var outside = await UsageSeed.ScalarAsync<long>(db.DataSource,
            """
            SELECT count(*) FROM usage_stats_monthly m JOIN expected_p95 e USING (month, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model)
            WHERE abs(m.p95_latency_ms - e.p95) > 0.125 * e.p95 + 0.5
            """);
        Assert.Equal(await UsageSeed.ScalarAsync<long>(db.DataSource, "SELECT count(*) FROM usage_stats_monthly"), compared);
        Assert.Equal(0L, outside);
    }

    /// <summary>Raw tool calls for every day of the range, three models: USD, EUR and unpriced.</summary>
    internal static async Task WriteEventsAsync(DatabaseFixture db, DateOnly first, DateOnly last)
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
        {
            await UsageSeed.ExecAsync(conn, "SELECT setseed(0.3)");
            await UsageSeed.ExecAsync(conn,
                """
                SELECT agentmeter_ensure_event_partition(d::date) FROM generate_series($1::date, $2::date, interval '1 day') d
                """, first, last);
            await UsageSeed.ExecAsync(conn,
                """
                INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from)
                VALUES ('model-a', 'model-a', 'USD', 2.5, 10, '2026-01-01'), ('model-b', 'model-b', 'EUR', 3, 15, '2026-01-01')
                """);
            await UsageSeed.ExecAsync(conn,
                """
                INSERT INTO usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, model, status,
                    latency_ms, request_bytes, response_bytes)
                SELECT d + interval '1 second' * (random() * 86399), 'tool_call', 'agent-' || i % 3, 'tool-' || i % 4, 'server-' || i % 2,
                       'user-' || i % 5, 'tenant-' || i % 2, (ARRAY['model-a', 'model-b', 'model-c'])[1 + i % 3],
                       CASE WHEN random() < 0.1 THEN 'failure' ELSE 'success' END,
                       CASE WHEN random() < 0.03 THEN random() ELSE exp(random() * 7) END,
                       (random() * 8000)::int, (random() * 3000)::int
                FROM generate_series($1::date, $2::date, interval '1 day') d, generate_series(1, 150) i
                """, first, last);
        }
    }
}
