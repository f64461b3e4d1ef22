using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Retention;

/// <summary>
/// The tables other capabilities derive per day, through the real aggregation, the real retention
/// pass and the real analytics API, with the clock at 2026-11-29 and the default policy: daily data
/// (and with it per-dimension rows, heatmap hours, health transitions, webhook attempts) is kept from
/// 2026-08-01, raw events (and late-event counts, rejected import rows) from 2026-08-31.
/// </summary>
public class DerivedTablesRetentionTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const string DailyRange = "from=2026-08-01&to=2026-11-28";

    [Fact]
    public async Task OldDerivedRowsGoRowsInsideTheWindowStayAndAnalyticsAnswersInsideItAreUnchanged()
    {
        await using var app = await AggregatedApp.StartAsync(db, new DateOnly(2026, 7, 10), new DateOnly(2026, 8, 10), SeedDerivedRowsAsync);
        var client = app.Client;

        string[] paths =
        [
            .. new[] { "agent", "tenant", "user", "server", "tool", "model" }.SelectMany(g => new[]
            {
                $"/api/v1/analytics/usage?{DailyRange}&group_by={g}&limit=1000", $"/api/v1/analytics/costs?{DailyRange}&group_by={g}",
            }),
            $"/api/v1/analytics/heatmap?{DailyRange}",
            $"/api/v1/analytics/errors?{DailyRange}",
            $"/api/v1/analytics/health?{DailyRange}",
            "/api/v1/analytics/health?from=2026-08-01&to=2026-08-05",
        ];
        var before = new Dictionary<string, string>();
        foreach (var path in paths) before[path] = await client.GetStringAsync(path);
        var callsSinceJuly = await CallsAsync(client);
        var oldDimensionRows = await CountAsync("SELECT count(*) FROM usage_stats_by_dimension WHERE date < '2026-08-01'");
        var oldHours = await CountAsync("SELECT count(*) FROM usage_stats_hourly WHERE date < '2026-08-01'");
        var dimensionRowsKept = await CountAsync("SELECT count(*) FROM usage_stats_by_dimension WHERE date >= '2026-08-01'");
        var hoursKept = await CountAsync("SELECT count(*) FROM usage_stats_hourly WHERE date >= '2026-08-01'");
        Assert.True(oldDimensionRows > 0 && oldHours > 0 && dimensionRowsKept > 0 && hoursKept > 0);

        Assert.Equal(0, await app.Services.RunRetentionOnceAsync(CancellationToken.None));

        // Inside the daily window every answer is byte for byte the same.
        foreach (var path in paths) Assert.Equal(before[path], await client.GetStringAsync(path));
        Assert.Equal(callsSinceJuly, await CallsAsync(client));

        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM usage_stats_by_dimension WHERE date < '2026-08-01'"));
        Assert.Equal(dimensionRowsKept, await CountAsync("SELECT count(*) FROM usage_stats_by_dimension"));
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM usage_stats_hourly WHERE date < '2026-08-01'"));
        Assert.Equal(hoursKept, await CountAsync("SELECT count(*) FROM usage_stats_hourly"));
        // Each server keeps its last transition before the cut-off, and everything after it.
        Assert.Equal(
            ["github 2026-07-31T22:00 open", "github 2026-08-02T06:00 closed", "github 2026-09-01T00:00 open",
             "jira 2026-06-01T00:00 closed"],
            await StringsAsync("SELECT server_label || ' ' || to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI') || ' ' || state FROM server_health_events ORDER BY 1"));
        // Old attempts go unless their notification is still pending; recent ones stay.
        Assert.Equal(["pending 2026-07-10 failed", "delivered 2026-08-01 succeeded", "pending 2026-08-15 failed"],
            await StringsAsync(
                """
                SELECT o.status || ' ' || to_char(a.attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ' ' || CASE WHEN a.succeeded THEN 'succeeded' ELSE 'failed' END
                FROM webhook_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id ORDER BY a.attempted_at
                """));
        Assert.Equal(["2026-08-31", "2026-09-02"], await StringsAsync("SELECT to_char(date, 'YYYY-MM-DD') FROM late_events ORDER BY 1"));
        Assert.Equal([3L], (await StringsAsync("SELECT id::text FROM import_rejected_rows")).Select(long.Parse));

        using var retention = JsonDocument.Parse(await client.GetStringAsync("/api/v1/retention"));
        var deleted = retention.RootElement.GetProperty("lastRun").GetProperty("derivedRowsDeleted");
        Assert.Equal(oldDimensionRows, deleted.GetProperty("usageStatsByDimension").GetInt64());
        Assert.Equal(oldHours, deleted.GetProperty("usageStatsHourly").GetInt64());
        Assert.Equal(3, deleted.GetProperty("serverHealthEvents").GetInt64());
        Assert.Equal(2, deleted.GetProperty("webhookAttempts").GetInt64());
        Assert.Equal(1, deleted.GetProperty("lateEvents").GetInt64());
        Assert.Equal(2, deleted.GetProperty("importRejectedRows").GetInt64());
        var details = JsonNode.Parse((await StringsAsync("SELECT details::text FROM job_runs WHERE job = 'retention'")).Single())!;
        Assert.Equal(oldHours, (long)details["derivedRowsDeleted"]!["usageStatsHourly"]!);
        Assert.Contains($"{oldDimensionRows + oldHours + 8} row(s) of derived tables deleted", (string)details["message"]!);

        // The health carry-in for a range that starts inside the window: github was open since
        // 07-31 22:00 (its transition before that is gone), jira closed since June.
        var health = JsonNode.Parse(before["/api/v1/analytics/health?from=2026-08-01&to=2026-08-05"])!["servers"]!.AsArray();
        var carried = health.Single(s => (string)s!["server"]! == "github")!["intervals"]![0]!;
        Assert.Equal(("open", DateTimeOffset.Parse("2026-08-01T00:00:00Z"), DateTimeOffset.Parse("2026-08-02T06:00:00Z")),
            ((string)carried["state"]!, (DateTimeOffset)carried["from"]!, (DateTimeOffset)carried["to"]!));
        Assert.Equal("closed", (string)health.Single(s => (string)s!["server"]! == "jira")!["currentState"]!);
    }

    /// <summary>Total calls of July to November in the usage answer.</summary>
    internal static async Task<long> CallsAsync(HttpClient client) =>
        (long)JsonNode.Parse(await client.GetStringAsync("/api/v1/analytics/usage?from=2026-07-01&to=2026-11-28&group_by=tenant"))!["totals"]!["calls"]!;

    private async Task SeedDerivedRowsAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await UsageSeed.ExecAsync(conn,
            """
            INSERT INTO server_health_events VALUES
              ('2026-06-15T00:00:00Z', 'github', 'closed'),
              ('2026-07-20T00:00:00Z', 'github', 'half_open'),
              ('2026-07-31T22:00:00Z', 'github', 'open'),      -- last before the cut-off: kept
              ('2026-08-02T06:00:00Z', 'github', 'closed'),
              ('2026-09-01T00:00:00Z', 'github', 'open'),
              ('2026-05-01T00:00:00Z', 'jira', 'open'),
              ('2026-06-01T00:00:00Z', 'jira', 'closed');      -- jira's last ever: kept, though old
            INSERT INTO webhook_outbox (id, idempotency_key, namespace, alert_name, webhook_name, group_key, event_type, payload,
                created_at, status, next_attempt_at)
            VALUES (1, 'k-delivered', 'team', 'cost', 'oncall', '', 'firing', '{}', '2026-07-10', 'delivered', '2026-07-10'),
                   (2, 'k-pending', 'team', 'cost', 'oncall', '', 'resolved', '{}', '2026-07-10', 'pending', '2026-12-01');
            INSERT INTO webhook_attempts (outbox_id, attempted_at, succeeded, namespace, alert_name, webhook_name, event_type, duration_ms)
            VALUES (1, '2026-07-10T10:00:00Z', false, 'team', 'cost', 'oncall', 'firing', 5),
                   (1, '2026-07-31T23:59:59Z', true, 'team', 'cost', 'oncall', 'firing', 5),
                   (1, '2026-08-01T00:00:00Z', true, 'team', 'cost', 'oncall', 'firing', 5),
                   (2, '2026-07-10T11:00:00Z', false, 'team', 'cost', 'oncall', 'resolved', 5),
                   (2, '2026-08-15T11:00:00Z', false, 'team', 'cost', 'oncall', 'resolved', 5);
            INSERT INTO late_events VALUES ('2026-08-30', 4, '2026-11-01'), ('2026-08-31', 2, '2026-11-01'), ('2026-09-02', 1, '2026-11-01');
            INSERT INTO import_rejected_rows (source, id, problems, rejected_at)
            VALUES ('registry', 1, 'time: missing', '2026-06-01T00:00:00Z'), ('registry', 2, 'time: missing', '2026-08-30T23:59:59Z'),
                   ('registry', 3, 'type: unknown', '2026-08-31T00:00:00Z');
            """);
    }

    private async Task<long> CountAsync(string sql) => await UsageSeed.ScalarAsync<long>(db.DataSource, sql);

    private async Task<List<string>> StringsAsync(string sql)
    {
        await using var cmd = db.DataSource.CreateCommand(sql);
        var values = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) values.Add(reader.GetString(0));
        return values;
    }
}

/// <summary>
/// A day aggregated late into a month already rolled up: the analytics API counts it once while it
/// is daily (its per-dimension rows) and once after the next pass added it to the month.
/// </summary>
public class LateDayRetentionTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task ALateDayInARolledUpMonthCountsOnceBeforeAndAfterTheNextPass()
    {
        await using var app = await AggregatedApp.StartAsync(db, new DateOnly(2026, 7, 10), new DateOnly(2026, 8, 10));
        var calls = await DerivedTablesRetentionTests.CallsAsync(app.Client);
        Assert.Equal(0, await app.Services.RunRetentionOnceAsync(CancellationToken.None));
        Assert.Equal(calls, await DerivedTablesRetentionTests.CallsAsync(app.Client));

        // 2026-07-05 aggregated late into July, already rolled up: what the day's transaction writes.
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await UsageSeed.ExecAsync(conn,
                """
                INSERT INTO usage_stats (date, agent_id, tenant_id, call_count, success_count, failure_count, total_latency_ms,
                    avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens)
                VALUES ('2026-07-05', 'agent-late', 'tenant-0', 7, 7, 0, 70, 10, 10, '{0,0,0,0,0,0,0,0,0,0,0,7}', 70, 70);
                SELECT agentmeter_rollup_dimensions('2026-07-05', 0);
                INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES ('2026-07-05', 7, 1);
                """);
        Assert.Equal(calls + 7, await DerivedTablesRetentionTests.CallsAsync(app.Client));

        var next = (await app.Services.GetRequiredService<RetentionPass>().RunAsync(waitForLock: true, CancellationToken.None))!;
        Assert.True(next.Succeeded, next.Details.Message);
        Assert.Equal(1, next.Details.DaysRolledUp);
        Assert.True(next.Details.DerivedRowsDeleted.UsageStatsByDimension > 0);
        Assert.Equal(calls + 7, await DerivedTablesRetentionTests.CallsAsync(app.Client));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(db.DataSource, "SELECT count(*) FROM usage_stats_by_dimension WHERE date < '2026-08-01'"));
    }

}

/// <summary>The per-dimension rows leave with their month's daily rows, in both modes, and leftovers of older passes go too.</summary>
public class DimensionRowsRetentionTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task EverySnapshotSeesTheSameCallsInUsageStatsAndPerDimensionRows(bool monthlyRollup)
    {
        await using var rig = await RetentionRig.StartAsync($"dailyRetentionDays: 90\nmonthlyRollup: {(monthlyRollup ? "true" : "false")}");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 5, 1), new DateOnly(2026, 11, 29), groups: 12);
        await using (var conn = await rig.Db.OpenConnectionAsync())
            await UsageSeed.ExecAsync(conn, "SELECT agentmeter_rollup_dimensions(date, 0) FROM (SELECT DISTINCT date FROM usage_stats) d");
        const string Consistent =
            """
            SELECT (SELECT coalesce(sum(call_count), 0) FROM usage_stats)
                 = (SELECT coalesce(sum(call_count), 0) FROM usage_stats_by_dimension WHERE dimension = 'tenant')
            """;
        Assert.True(await UsageSeed.ScalarAsync<bool>(rig.Db, Consistent));
        var old = await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_by_dimension WHERE date < '2026-08-01'");
        var kept = await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_by_dimension WHERE date >= '2026-08-01'");

        // A reader polling during the pass: one statement is one snapshot, and in every one the daily
        // rows and the per-dimension rows hold the same calls (a month is in both or in neither).
        using var stop = new CancellationTokenSource();
        var seen = new List<bool>();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested) seen.Add(await UsageSeed.ScalarAsync<bool>(rig.Db, Consistent));
        });
        var result = await rig.RunAsync();
        await stop.CancelAsync();
        await reader;

        Assert.True(result.Succeeded, result.Details.Message);
        Assert.NotEmpty(seen);
        Assert.All(seen, Assert.True);
        Assert.Equal(old, result.Details.DerivedRowsDeleted.UsageStatsByDimension);
        Assert.Equal(kept, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_by_dimension"));
        Assert.Equal(new DateOnly(2026, 8, 1), await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats_by_dimension"));
        Assert.Equal(monthlyRollup ? 3 : 0, result.Details.MonthsRolledUp.Count);
        Assert.Equal(monthlyRollup ? 0 : 92, result.Details.DaysDeleted);
    }

    [Fact]
    public async Task PerDimensionRowsLeftByAnOlderPassGoWithoutCountingAsARolledUpMonth()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 7, 1), new DateOnly(2026, 8, 10), groups: 4);
        Assert.True((await rig.RunAsync()).Succeeded);
        // What a pass before this table was pruned left behind: rows of a month rolled up already.
        await using (var conn = await rig.Db.OpenConnectionAsync())
            await UsageSeed.ExecAsync(conn,
                """
                INSERT INTO usage_stats_by_dimension (date, dimension, tenant_id, key, currency, call_count, success_count, failure_count,
                    total_latency_ms, estimated_input_tokens, estimated_output_tokens, estimated_cost, stats_rows, max_p95_latency_ms,
                    latency_buckets, latency_counts)
                SELECT '2026-07-03', d, 'tenant-0', 'k', 'USD', 1, 1, 0, 1, 1, 1, 0.1, 1, 1, '{1}', '{1}'
                FROM unnest(ARRAY['tenant', 'agent', 'tool']) d
                """);

        var second = await rig.RunAsync();

        Assert.True(second.Succeeded, second.Details.Message);
        Assert.Equal(3, second.Details.DerivedRowsDeleted.UsageStatsByDimension);
        Assert.Empty(second.Details.MonthsRolledUp);
        Assert.Equal(0, second.Details.DaysRolledUp);
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_by_dimension WHERE date < '2026-08-01'"));
    }
}
