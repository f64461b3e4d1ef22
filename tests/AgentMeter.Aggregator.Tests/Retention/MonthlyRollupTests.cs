using Npgsql;

namespace AgentMeter.Aggregator.Tests.Retention;

public class MonthlyRollupTests
{
    // Clock 2026-11-29 12:00 UTC, dailyRetentionDays 90: today − 90 is 2026-08-31, so whole months
    // before August leave the daily table (August goes once all its days are older than 90 days).
    private static readonly DateOnly KeepFrom = new(2026, 8, 1);

    [Fact]
    public async Task TotalsPerGroupAndCurrencyAreIdenticalBeforeAndAfterAndNoReaderSeesADayTwiceOrNever()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 5, 1), new DateOnly(2026, 11, 29));
        var before = await UsageSeed.AllTotalsAsync(rig.Db);
        var calls = await UsageSeed.ScalarAsync<decimal>(rig.Db, "SELECT sum(call_count) FROM usage_stats_all");

        // A reader polling the view during the pass: every snapshot must hold every call exactly once.
        using var stop = new CancellationTokenSource();
        var seen = new List<decimal>();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
                seen.Add(await UsageSeed.ScalarAsync<decimal>(rig.Db, "SELECT sum(call_count) FROM usage_stats_all"));
        });
        var result = await rig.RunAsync();
        await stop.CancelAsync();
        await reader;

        Assert.True(result.Succeeded, result.Details.Message);
        Assert.NotEmpty(seen);
        Assert.All(seen, s => Assert.Equal(calls, s));
        UsageSeed.AssertSameTotals(before, await UsageSeed.AllTotalsAsync(rig.Db));

        Assert.Equal(KeepFrom, await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats"));
        Assert.Equal(["2026-05", "2026-06", "2026-07"], result.Details.MonthsRolledUp);
        Assert.Equal(KeepFrom.DayNumber - new DateOnly(2026, 5, 1).DayNumber, result.Details.DaysRolledUp);
        Assert.Equal(
            ["2026-05-01", "2026-06-01", "2026-07-01"],
            await Strings(rig.Db, "SELECT DISTINCT to_char(month, 'YYYY-MM-DD') FROM usage_stats_monthly ORDER BY 1"));
        // The month of the currency change keeps one row per currency; unpriced usage stays unpriced.
        Assert.Equal(["EUR", "USD"], await Strings(rig.Db,
            "SELECT DISTINCT currency FROM usage_stats_monthly WHERE month = '2026-06-01' AND model = 'model-1' ORDER BY 1"));
        Assert.Equal([""], await Strings(rig.Db, "SELECT DISTINCT currency FROM usage_stats_monthly WHERE model = 'model-2'"));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db,
            "SELECT count(*) FROM usage_stats_monthly WHERE (currency = '') <> (estimated_cost IS NULL)"));
    }

    [Fact]
    public async Task MonthlyRowsCarryMergedHistogramsAndAP95WithinTheDocumentedBound()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 5, 1), new DateOnly(2026, 11, 29));
        await rig.RunAsync();

        // Every histogram still counts every call; the average is recomputed from the totals.
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db,
            """
            SELECT count(*) FROM usage_stats_monthly
            WHERE (SELECT sum(c) FROM unnest(latency_histogram) c) <> call_count
               OR abs(avg_latency_ms - total_latency_ms / call_count) > 1e-9 * avg_latency_ms
            """));
        // Exact p95 over the month's raw samples of each monthly row, against the rollup's estimate.
        await using var cmd = rig.Db.CreateCommand(
            """
            WITH exact AS (
                SELECT date_trunc('month', date)::date AS month,
                       'agent-' || g % 4 AS agent_id, 'tool-' || g % 5 AS tool_name, 'user-' || g % 7 AS user_id,
                       CASE WHEN g % 3 = 2 THEN '' WHEN g % 3 = 0 OR date >= $1 THEN 'USD' ELSE 'EUR' END AS currency,
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95
                FROM test_samples WHERE date < $2 GROUP BY 1, 2, 3, 4, 5
            )
            SELECT m.p95_latency_ms, e.p95 FROM usage_stats_monthly m
            JOIN exact e USING (month, agent_id, tool_name, user_id, currency)
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = UsageSeed.CurrencySwitch });
        cmd.Parameters.Add(new NpgsqlParameter { Value = KeepFrom });
        var rows = 0;
        var worst = 0.0;
        await using (var r = await cmd.ExecuteReaderAsync())
            while (await r.ReadAsync())
            {
                var (estimate, exact) = (r.GetDouble(0), r.GetDouble(1));
                Assert.True(Math.Abs(estimate - exact) <= 0.125 * exact + 0.5, $"p95 estimate {estimate} vs exact {exact}");
                worst = Math.Max(worst, Math.Abs(estimate - exact) / exact);
                rows++;
            }
        Assert.Equal(await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_monthly"), rows);
        Assert.True(worst > 0, "estimates should not coincide with the exact values by construction");
    }

    [Fact]
    public async Task ADayAggregatedLateIsAddedIntoItsRolledUpMonthAndTheNextMonthGoesWhenItIsWhollyOld()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 5, 1), new DateOnly(2026, 11, 29));
        var before = await UsageSeed.AllTotalsAsync(rig.Db);
        // 15 July was not aggregated in time (say, its audit log was imported late).
        await using (var conn = await rig.Db.OpenConnectionAsync())
        {
            await UsageSeed.ExecAsync(conn, "CREATE TABLE late_day AS SELECT * FROM usage_stats WHERE date = '2026-07-15'");
            await UsageSeed.ExecAsync(conn, "DELETE FROM usage_stats WHERE date = '2026-07-15'");
        }
        await rig.RunAsync();
        Assert.Equal(30, await UsageSeed.ScalarAsync<int>(rig.Db, "SELECT max(days_rolled_up) FROM usage_stats_monthly WHERE month = '2026-07-01'"));

        var again = await rig.RunAsync();
        Assert.Equal(0, again.Details.DaysRolledUp);

        // The late day arrives in usage_stats; the next pass adds it into July's existing rows.
        await using (var conn = await rig.Db.OpenConnectionAsync())
            await UsageSeed.ExecAsync(conn, "INSERT INTO usage_stats SELECT * FROM late_day");
        var late = await rig.RunAsync();
        Assert.Equal(1, late.Details.DaysRolledUp);
        Assert.Equal(["2026-07"], late.Details.MonthsRolledUp);
        Assert.Equal(31, await UsageSeed.ScalarAsync<int>(rig.Db, "SELECT max(days_rolled_up) FROM usage_stats_monthly WHERE month = '2026-07-01'"));
        UsageSeed.AssertSameTotals(before, await UsageSeed.AllTotalsAsync(rig.Db));

        // On 29 November, 31 August is exactly 90 days old; the day after it is older and August goes whole.
        rig.Time.Advance(TimeSpan.FromDays(1));
        var august = await rig.RunAsync();
        Assert.Equal(31, august.Details.DaysRolledUp);
        Assert.Equal(["2026-08"], august.Details.MonthsRolledUp);
        Assert.Equal(new DateOnly(2026, 9, 1), await UsageSeed.ScalarAsync<DateOnly>(rig.Db, "SELECT min(date) FROM usage_stats"));
        UsageSeed.AssertSameTotals(before, await UsageSeed.AllTotalsAsync(rig.Db));
    }

    [Fact]
    public async Task WithoutMonthlyRollupOldDaysAreDeletedAndNothingIsRolledUp()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90\nmonthlyRollup: false");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 7, 1), new DateOnly(2026, 11, 29));
        var keptCalls = await UsageSeed.ScalarAsync<decimal>(rig.Db, "SELECT sum(call_count) FROM usage_stats WHERE date >= $1", KeepFrom);
        var rows = await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats WHERE date < $1", KeepFrom);

        var result = await rig.RunAsync();

        Assert.Equal(0, result.Details.DaysRolledUp);
        Assert.Equal(KeepFrom.DayNumber - new DateOnly(2026, 7, 1).DayNumber, result.Details.DaysDeleted);
        Assert.Equal(rows, result.Details.DailyRowsDeleted);
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_monthly"));
        Assert.Equal(keptCalls, await UsageSeed.ScalarAsync<decimal>(rig.Db, "SELECT sum(call_count) FROM usage_stats_all"));
    }

    [Fact]
    public async Task MonthlyRowsPastMonthlyRetentionAreDeletedAndOldDaysOfSuchMonthsAreNotRolledUp()
    {
        // Keep monthly rows from 2026-06 (5 months before November); May is deleted outright.
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90\nmonthlyRetentionMonths: 5");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 5, 1), new DateOnly(2026, 11, 29));
        await using (var old = rig.Db.CreateCommand(
            """
            INSERT INTO usage_stats_monthly (month, agent_id, currency, days_rolled_up, call_count, success_count, failure_count,
                total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens)
            VALUES ('2025-12-01', 'agent-old', '', 31, 10, 10, 0, 100, 10, 12, '{0,0,0,0,0,0,0,0,0,0,0,10}', 1, 1)
            """))
            await old.ExecuteNonQueryAsync();

        var result = await rig.RunAsync();

        Assert.Equal(["2026-06", "2026-07"], result.Details.MonthsRolledUp);
        Assert.Equal(31, result.Details.DaysDeleted);
        Assert.Equal(1, result.Details.MonthlyRowsDeleted);
        Assert.Equal(["2026-06-01", "2026-07-01"],
            await Strings(rig.Db, "SELECT DISTINCT to_char(month, 'YYYY-MM-DD') FROM usage_stats_monthly ORDER BY 1"));
    }

    [Fact]
    public async Task APassWaitsForNoOneWhenAnotherProcessHoldsTheRetentionLock()
    {
        await using var rig = await RetentionRig.StartAsync("dailyRetentionDays: 90");
        await UsageSeed.SeedAsync(rig.Db, new DateOnly(2026, 8, 1), new DateOnly(2026, 8, 31));
        await using var other = await rig.Db.OpenConnectionAsync();
        await using (var cmd = new NpgsqlCommand($"SELECT pg_advisory_lock({AgentMeter.Aggregator.Database.AdvisoryLocks.Retention})", other))
            await cmd.ExecuteNonQueryAsync();

        Assert.Null(await rig.Pass.RunAsync(waitForLock: false, CancellationToken.None));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM job_runs"));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(rig.Db, "SELECT count(*) FROM usage_stats_monthly"));
    }

    private static async Task<List<string>> Strings(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        var list = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) list.Add(r.GetString(0));
        return list;
    }
}
