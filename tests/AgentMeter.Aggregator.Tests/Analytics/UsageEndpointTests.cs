using System.Net.Http.Json;
using AgentMeter.Aggregator.Analytics;

namespace AgentMeter.Aggregator.Tests.Analytics;

public class UsageEndpointTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>, IAsyncLifetime
{
    private static readonly DateOnly Day = new(2026, 8, 3);

    public Task InitializeAsync() => StatsRows.ClearAsync(api.Db);
    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<UsageResponse> UsageAsync(string query)
    {
        using var client = api.Admin();
        return (await client.GetFromJsonAsync<UsageResponse>($"/api/v1/analytics/usage?{query}"))!;
    }

    [Fact]
    public async Task OneStoredRowKeepsItsExactP95AndSeveralMergeTheirHistograms()
    {
        await StatsRows.InsertAsync(api.Db,
            new StatsRow(Day, Agent: "single", Calls: 20, Failures: 5, P95: 123.4, In: 2000, Out: 200),
            // 90 fast calls (~10 ms) and 10 slow ones (~800 ms): the merged p95 lies in the slow bucket.
            new StatsRow(Day, Agent: "merged", Tool: "t1", Calls: 90, P95: 10),
            new StatsRow(Day.AddDays(1), Agent: "merged", Tool: "t2", Calls: 10, P95: 800));

        var usage = await UsageAsync("from=2026-08-01&to=2026-08-31");

        var merged = usage.Groups.Single(g => g.Key == "merged");
        var single = usage.Groups.Single(g => g.Key == "single");
        Assert.Equal(["merged", "single"], usage.Groups.Select(g => g.Key)); // busiest first
        Assert.Equal(123.4, single.P95LatencyMs);
        Assert.Equal(0.25, single.ErrorRate);
        Assert.Equal((20, 15, 5, 2000, 200), (single.Calls, single.Successes, single.Failures, single.InputTokens, single.OutputTokens));
        Assert.InRange(merged.P95LatencyMs!.Value, 800 / 1.125, 800 * 1.125);
        Assert.Equal(100, merged.Calls);
        Assert.Equal((90 * 5 + 10 * 400) / 100.0, merged.AvgLatencyMs);
        Assert.Equal(120, usage.Totals.Calls);
        Assert.Equal(5, usage.Totals.Failures);
        Assert.InRange(usage.Totals.P95LatencyMs!.Value, 123.4 / 1.125, 800 * 1.125);
        Assert.Equal([(Day, 110L, 5L), (Day.AddDays(1), 10L, 0L)], usage.Series.Select(p => (p.Date, p.Calls, p.Failures)));
    }

    [Fact]
    public async Task NoUsageIsNoRateNotAZeroRate()
    {
        var usage = await UsageAsync("from=2026-08-01&to=2026-08-31");
        Assert.Equal(0, usage.Totals.Calls);
        Assert.Null(usage.Totals.ErrorRate);
        Assert.Null(usage.Totals.P95LatencyMs);
        Assert.Empty(usage.Groups);
    }

    [Fact]
    public async Task LimitKeepsTheBusiestGroups()
    {
        await StatsRows.InsertAsync(api.Db, Enumerable.Range(1, 4).Select(i => new StatsRow(Day, Tool: $"tool{i}", Calls: i * 10)).ToArray());
        var usage = await UsageAsync("from=2026-08-03&to=2026-08-03&group_by=tool&limit=3");
        Assert.Equal(["tool4", "tool3", "tool2"], usage.Groups.Select(g => g.Key));
        Assert.Equal(100, usage.Totals.Calls);
    }

    [Fact]
    public async Task MonthlyRowsAreSpannedWithTheirHistograms()
    {
        // 100 calls around 40 ms rolled up for June (10 failed), 100 around 800 ms on a day of July.
        await StatsRows.InsertMonthlyAsync(api.Db,
            new StatsRow(new DateOnly(2026, 6, 1), Agent: "a1", Tenant: "t", Model: "m", Calls: 100, Failures: 10, P95: 40, Cost: null, Currency: null));
        await StatsRows.InsertAsync(api.Db, new StatsRow(new DateOnly(2026, 7, 1), Agent: "a1", Tenant: "t", Calls: 100, P95: 800));

        var usage = await UsageAsync("from=2026-06-20&to=2026-07-05");

        var a1 = Assert.Single(usage.Groups);
        Assert.Equal((200L, 10L), (a1.Calls, a1.Failures));
        Assert.InRange(a1.P95LatencyMs!.Value, 800 / 1.125, 800 * 1.125);
        Assert.Equal([("monthly", 100L), ("daily", 100L)], usage.Series.Select(p => (p.Granularity, p.Calls)));
        Assert.Equal("monthly", usage.Granularity[0].Granularity);
    }
}
