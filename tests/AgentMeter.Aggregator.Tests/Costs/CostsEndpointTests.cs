using System.Net.Http.Json;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Tests.Analytics;

namespace AgentMeter.Aggregator.Tests.Costs;

/// <summary>GET /api/v1/analytics/costs over usage_stats rows as the daily aggregation stores them.</summary>
public class CostsEndpointTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>, IAsyncLifetime
{
    private static readonly DateOnly Day = new(2026, 9, 10);

    public Task InitializeAsync() => StatsRows.ClearAsync(api.Db);
    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<CostResponse> CostsAsync(string query)
    {
        using var client = api.Admin();
        return (await client.GetFromJsonAsync<CostResponse>($"/api/v1/analytics/costs?{query}"))!;
    }

    [Fact]
    public async Task MixedCurrenciesAreReportedPerCurrencyAndNeverSummed()
    {
        await StatsRows.InsertAsync(api.Db,
            new StatsRow(Day, Agent: "a1", Model: "gpt-4o", Cost: 2.5m, Currency: "USD"),
            new StatsRow(Day, Agent: "a1", Model: "mistral-large", Cost: 4m, Currency: "EUR"),
            new StatsRow(Day.AddDays(1), Agent: "a2", Model: "gpt-4o", Cost: 1.25m, Currency: "USD"));

        var costs = await CostsAsync("from=2026-09-01&to=2026-09-30");

        Assert.Equal(["EUR", "USD"], costs.Currencies.Select(c => c.Currency));
        var eur = costs.Currencies[0];
        var usd = costs.Currencies[1];
        Assert.Equal(4m, eur.Total);
        Assert.Equal(3.75m, usd.Total);
        Assert.Equal([("a1", 4m)], eur.Groups.Select(g => (g.Key, g.Cost)));
        Assert.Equal([("a1", 2.5m), ("a2", 1.25m)], usd.Groups.Select(g => (g.Key, g.Cost)));
        // a1 is 100 % of the EUR spend and 2/3 of the USD spend: shares never mix currencies either.
        Assert.Equal(1.0, eur.Groups[0].Share);
        Assert.Equal(2.5 / 3.75, usd.Groups[0].Share!.Value, 9);
        Assert.Equal([(Day, 2.5m), (Day.AddDays(1), 1.25m)], usd.Series.Select(p => (p.Date, p.Cost)));
        Assert.Equal([(Day, 4m)], eur.Series.Select(p => (p.Date, p.Cost)));
    }

    [Fact]
    public async Task UnpricedUsageIsReportedPerModelNotAsZeroCost()
    {
        await StatsRows.InsertAsync(api.Db,
            new StatsRow(Day, Agent: "a1", Model: "gpt-4o", Calls: 10, In: 1000, Out: 100, Cost: 1m),
            new StatsRow(Day, Agent: "a1", Model: "in-house-llm", Calls: 7, In: 700, Out: 70, Cost: null, Currency: null),
            new StatsRow(Day, Agent: "a2", Model: "in-house-llm", Calls: 3, In: 300, Out: 30, Cost: null, Currency: null),
            new StatsRow(Day, Agent: "a3", Model: "other-llm", Calls: 1, In: 10, Out: 1, Cost: null, Currency: null));

        var costs = await CostsAsync("from=2026-09-01&to=2026-09-30");

        var usd = Assert.Single(costs.Currencies);
        Assert.Equal(1m, usd.Total);
        // a2 and a3 have only unpriced usage: they are not listed with a cost of 0.
        Assert.Equal([("a1", 1m, 10L)], usd.Groups.Select(g => (g.Key, g.Cost, g.Calls)));
        Assert.Equal(11, costs.Unpriced.Calls);
        Assert.Equal(1010, costs.Unpriced.InputTokens);
        Assert.Equal(101, costs.Unpriced.OutputTokens);
        Assert.Equal([new UnpricedModel("in-house-llm", 10, 1000, 100), new UnpricedModel("other-llm", 1, 10, 1)], costs.Unpriced.Models);
    }

    [Fact]
    public async Task GroupsAreRankedByCostAndLimitedWhileTotalsCountEverything()
    {
        var rows = Enumerable.Range(1, 5).Select(i => new StatsRow(Day, Agent: $"a{i}", Cost: i)).ToArray();
        await StatsRows.InsertAsync(api.Db, rows);

        var usd = Assert.Single((await CostsAsync("from=2026-09-10&to=2026-09-10&limit=2")).Currencies);

        Assert.Equal(15m, usd.Total);
        Assert.Equal(5, usd.GroupCount);
        Assert.Equal([("a5", 5m), ("a4", 4m)], usd.Groups.Select(g => (g.Key, g.Cost)));
        var point = Assert.Single(usd.Series);
        Assert.Equal(15m, point.Cost);
        Assert.Equal(new Dictionary<string, decimal> { ["a5"] = 5m, ["a4"] = 4m }, point.ByGroup);
    }

    [Theory]
    [InlineData("tenant", "t1")]
    [InlineData("user", "u1")]
    [InlineData("server", "s1")]
    [InlineData("tool", "tool1")]
    [InlineData("model", "m1")]
    public async Task EveryDimensionGroups(string groupBy, string expectedTop)
    {
        await StatsRows.InsertAsync(api.Db,
            new StatsRow(Day, Agent: "x", Tool: "tool1", Server: "s1", User: "u1", Tenant: "t1", Model: "m1", Cost: 3m),
            new StatsRow(Day, Agent: "y", Tool: "tool2", Server: "s2", User: "u2", Tenant: "t2", Model: "m2", Cost: 1m));
        var usd = Assert.Single((await CostsAsync($"from=2026-09-10&to=2026-09-10&group_by={groupBy}")).Currencies);
        Assert.Equal(expectedTop, usd.Groups[0].Key);
        Assert.Equal(0.75, usd.Groups[0].Share);
    }

    [Fact]
    public async Task MonthlyRolledUpUsageIsSpannedWithItsGranularity()
    {
        var june = new DateOnly(2026, 6, 1);
        await StatsRows.InsertMonthlyAsync(api.Db,
            new StatsRow(june, Agent: "a1", Model: "gpt-4o", Calls: 300, Cost: 30m),
            new StatsRow(june, Agent: "a1", Model: "in-house", Calls: 50, Cost: null, Currency: null));
        await StatsRows.InsertAsync(api.Db, new StatsRow(new DateOnly(2026, 7, 2), Agent: "a1", Cost: 2m));

        var costs = await CostsAsync("from=2026-06-15&to=2026-07-10");

        Assert.Equal(
            [new GranularityPart(new(2026, 6, 1), new(2026, 6, 30), "monthly"), new GranularityPart(new(2026, 7, 1), new(2026, 7, 10), "daily")],
            costs.Granularity);
        var usd = Assert.Single(costs.Currencies);
        Assert.Equal(32m, usd.Total);
        Assert.Equal([(new DateOnly(2026, 6, 1), "monthly", 30m), (new DateOnly(2026, 7, 2), "daily", 2m)],
            usd.Series.Select(p => (p.Date, p.Granularity, p.Cost)));
        Assert.Equal(50, costs.Unpriced.Calls);
    }

    [Fact]
    public async Task AnAnswerIsReusedUntilADayIsAggregatedAndNoCacheComputesAfresh()
    {
        await StatsRows.InsertAsync(api.Db, new StatsRow(Day, Agent: "a1", Cost: 1m));
        const string query = "from=2026-09-01&to=2026-09-30";
        Assert.Equal(1m, (await CostsAsync(query)).Currencies[0].Total);

        // A row written behind the aggregation's back (no marker): the stored answer stands…
        await using (var cmd = api.Db.CreateCommand(
            "UPDATE usage_stats_by_dimension SET estimated_cost = estimated_cost * 7 WHERE date = '2026-09-10'"))
            await cmd.ExecuteNonQueryAsync();
        Assert.Equal(1m, (await CostsAsync(query)).Currencies[0].Total);

        // …a client asking for no-cache gets it computed now…
        using var client = api.Admin();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/analytics/costs?{query}");
        request.Headers.CacheControl = new() { NoCache = true };
        var fresh = await (await client.SendAsync(request)).Content.ReadFromJsonAsync<CostResponse>();
        Assert.Equal(7m, fresh!.Currencies[0].Total);

        // …and an aggregated day makes every stored answer stale.
        await StatsRows.InsertAsync(api.Db, new StatsRow(Day.AddDays(1), Agent: "a1", Cost: 2m));
        Assert.Equal(9m, (await CostsAsync(query)).Currencies[0].Total);
    }

    [Fact]
    public async Task AMonthRetentionSplitIsReadFromBothTablesAndNeverTwice()
    {
        // Aggregated days 10 and 20 May; then retention (keeping days from 15 May on) moved the 10th
        // into the monthly row and deleted it from usage_stats. Its rollup row stays behind, stale.
        await StatsRows.InsertAsync(api.Db,
            new StatsRow(new DateOnly(2026, 5, 10), Agent: "a1", Cost: 4m), new StatsRow(new DateOnly(2026, 5, 20), Agent: "a1", Cost: 1m));
        await StatsRows.InsertMonthlyAsync(api.Db, new StatsRow(new DateOnly(2026, 5, 1), Agent: "a1", Cost: 4m));
        await using (var cmd = api.Db.CreateCommand(
            """
            DELETE FROM usage_stats WHERE date = '2026-05-10';
            INSERT INTO job_runs (job, started_at, finished_at, result) VALUES ('retention', now(), now(), 'Succeeded');
            """))
            await cmd.ExecuteNonQueryAsync();

        var costs = await CostsAsync("from=2026-05-01&to=2026-05-31");

        Assert.Equal(
            [new GranularityPart(new(2026, 5, 1), new(2026, 5, 19), "monthly"), new GranularityPart(new(2026, 5, 20), new(2026, 5, 31), "daily")],
            costs.Granularity);
        var usd = Assert.Single(costs.Currencies);
        Assert.Equal(5m, usd.Total);
        Assert.Equal([(new DateOnly(2026, 5, 1), "monthly", 4m), (new DateOnly(2026, 5, 20), "daily", 1m)],
            usd.Series.Select(p => (p.Date, p.Granularity, p.Cost)));
    }
}
