using System.Net.Http.Json;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Tests.Analytics;

namespace AgentMeter.Aggregator.Tests.Costs;

/// <summary>
/// The costs endpoint reads groups and their per-day costs from the monthly running totals
/// (usage_stats_cost_running): for any range, across month boundaries, tenants and currencies, it
/// must answer what the daily rows say, and the running totals must follow every write of the
/// daily rollup (aggregation, retention's deletes, edits).
/// </summary>
public class CostRunningTotalsTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>, IAsyncLifetime
{
    public Task InitializeAsync() => StatsRows.ClearAsync(api.Db);
    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Aug 25 … Oct 5, most days: a1 in two tenants, a2 priced in USD then EUR, a3 on odd days, a4 unpriced.</summary>
    private static StatsRow[] Rows()
    {
        var rows = new List<StatsRow>();
        for (var day = new DateOnly(2026, 8, 25); day <= new DateOnly(2026, 10, 5); day = day.AddDays(1))
        {
            if (day.Day == 3) continue; // a day without usage
            var n = day.DayNumber % 7 + 1;
            rows.Add(new StatsRow(day, Agent: "a1", Tenant: "tenant-a", Calls: n, In: 100 * n, Out: 10 * n, Cost: 0.1m * n));
            rows.Add(new StatsRow(day, Agent: "a1", Tenant: "tenant-b", User: "u2", Calls: 2, In: 200, Out: 20, Cost: 0.25m));
            rows.Add(day < new DateOnly(2026, 9, 15)
                ? new StatsRow(day, Agent: "a2", Calls: 3, In: 300, Out: 30, Cost: 0.3333333333m)
                : new StatsRow(day, Agent: "a2", Model: "mistral-large", Calls: 3, In: 300, Out: 30, Cost: 0.27m, Currency: "EUR"));
            if (day.Day % 2 == 1) rows.Add(new StatsRow(day, Agent: "a3", Tenant: "tenant-b", Calls: 5, In: 50, Out: 5, Cost: 0.05m * day.Day));
            rows.Add(new StatsRow(day, Agent: "a4", Model: "in-house-llm", Calls: 1, Cost: null, Currency: null));
        }
        return rows.ToArray();
    }

    [Theory]
    [InlineData("2026-08-25", "2026-10-05", null)]
    [InlineData("2026-08-30", "2026-09-02", null)]   // across a month's end
    [InlineData("2026-09-03", "2026-09-03", null)]   // a day without usage
    [InlineData("2026-09-10", "2026-10-02", null)]
    [InlineData("2026-09-14", "2026-09-16", "tenant-b")]
    [InlineData("2026-07-01", "2026-12-31", "tenant-a")]
    public async Task GroupsAndTheirCostsPerDayAreThoseOfTheDailyRows(string from, string to, string? tenant)
    {
        var rows = Rows();
        await StatsRows.InsertAsync(api.Db, rows);
        var (first, last) = (DateOnly.Parse(from), DateOnly.Parse(to));
        var priced = rows.Where(r => r.Date >= first && r.Date <= last && r.Cost is not null && (tenant is null || r.Tenant == tenant)).ToList();

        using var client = api.Admin();
        var costs = (await client.GetFromJsonAsync<CostResponse>(
            $"/api/v1/analytics/costs?from={from}&to={to}&group_by=agent&limit=2{(tenant is null ? "" : $"&tenant={tenant}")}"))!;

        Assert.Equal(priced.Select(r => r.Currency).Distinct().Order(StringComparer.Ordinal), costs.Currencies.Select(c => c.Currency));
        foreach (var currency in costs.Currencies)
        {
            var mine = priced.Where(r => r.Currency == currency.Currency).ToList();
            var groups = mine.GroupBy(r => r.Agent)
                .Select(g => new CostGroup(g.Key, g.Sum(r => r.Cost!.Value), null, g.Sum(r => r.Calls), g.Sum(r => r.In), g.Sum(r => r.Out)))
                .OrderByDescending(g => g.Cost).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
            Assert.Equal(groups.Count, currency.GroupCount);
            Assert.Equal(groups.Take(2), currency.Groups.Select(g => g with { Share = null }));
            var listed = groups.Take(2).Select(g => g.Key).ToHashSet();
            var series = mine.GroupBy(r => r.Date).OrderBy(d => d.Key).Select(d => (d.Key, d.Sum(r => r.Cost!.Value),
                string.Join(" ", d.Where(r => listed.Contains(r.Agent)).GroupBy(r => r.Agent).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => $"{g.Key}={Money.Normalize(g.Sum(r => r.Cost!.Value))}"))));
            Assert.Equal(series, currency.Series.Select(p => (p.Date, p.Cost,
                string.Join(" ", p.ByGroup.OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Value}")))));
        }
    }

    [Fact]
    public async Task RunningTotalsFollowEveryWriteOfTheDailyRollup()
    {
        await StatsRows.InsertAsync(api.Db, Rows());
        Assert.Equal(0L, await MismatchesAsync());
        Assert.True(await CountAsync("SELECT count(*) FROM usage_stats_cost_running") > 0);

        // Retention deletes whole days; an edit rewrites rows; a day is rolled up again.
        await ExecAsync("DELETE FROM usage_stats_by_dimension WHERE date < '2026-09-02'");
        await ExecAsync("UPDATE usage_stats_by_dimension SET estimated_cost = estimated_cost * 3, call_count = call_count + 1 WHERE date BETWEEN '2026-09-20' AND '2026-10-01'");
        await StatsRows.InsertAsync(api.Db, new StatsRow(new DateOnly(2026, 9, 20), Agent: "a9", Cost: 9m));
        Assert.Equal(0L, await MismatchesAsync());
        // August has no daily row left: no running totals either.
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM usage_stats_cost_running WHERE month = '2026-08-01'"));
        Assert.True(await CountAsync("SELECT count(*) FROM usage_stats_cost_running WHERE month = '2026-09-01'") > 0);

        await ExecAsync("TRUNCATE usage_stats_by_dimension");
        Assert.Equal(0L, await CountAsync("SELECT count(*) FROM usage_stats_cost_running"));
    }

    /// <summary>Elements of the running totals that differ from the sums of the daily rollup rows, plus groups missing.</summary>
    private Task<long> MismatchesAsync() => CountAsync(
        """
        WITH expected AS (
            SELECT r.dimension, r.month, r.tenant_id, r.key, r.currency, i,
                   count(b.*) AS stats_rows, coalesce(sum(b.estimated_cost), 0) AS cost, coalesce(sum(b.call_count), 0) AS calls,
                   coalesce(sum(b.estimated_input_tokens), 0) AS input_tokens, coalesce(sum(b.estimated_output_tokens), 0) AS output_tokens
            FROM usage_stats_cost_running r CROSS JOIN generate_series(1, cardinality(r.cost)) i
            LEFT JOIN usage_stats_by_dimension b ON b.dimension = r.dimension AND b.tenant_id = r.tenant_id AND b.key = r.key
                 AND b.currency = r.currency AND b.date BETWEEN r.month AND r.month + i - 1
            GROUP BY 1, 2, 3, 4, 5, 6)
        SELECT (SELECT count(*) FROM expected e JOIN usage_stats_cost_running r USING (dimension, month, tenant_id, key, currency)
                WHERE (r.stats_rows[i], r.cost[i], r.calls[i], r.input_tokens[i], r.output_tokens[i])
                      <> (e.stats_rows, e.cost, e.calls, e.input_tokens, e.output_tokens))
             + (SELECT count(*) FROM usage_stats_by_dimension b WHERE b.currency <> '' AND NOT EXISTS (
                    SELECT 1 FROM usage_stats_cost_running r WHERE r.dimension = b.dimension AND r.tenant_id = b.tenant_id
                      AND r.key = b.key AND r.currency = b.currency AND r.month = date_trunc('month', b.date)::date))
        """);

    private async Task<long> CountAsync(string sql)
    {
        await using var cmd = api.Db.CreateCommand(sql);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task ExecAsync(string sql)
    {
        await using var cmd = api.Db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}
