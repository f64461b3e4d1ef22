using System.Net;
using System.Net.Http.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Costs;

/// <summary>
/// CostRate YAML → cost_rates → events through POST /api/v1/events → daily aggregation → the costs
/// API: each day priced at its own rate, and never repriced afterwards.
/// </summary>
public class CostsEndToEndTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private readonly string _rates = Path.Combine(Path.GetTempPath(), $"e2e-rates-{Guid.NewGuid():N}.yaml");
    private AggregatorHost _host = null!;

    private static string Rate(string name, string from, string input, string output) =>
        $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata: {"{"}name: {name}{"}"}
        spec: {"{"}model: gpt-4o, currency: USD, inputPerMillionTokens: "{input}", outputPerMillionTokens: "{output}", effectiveFrom: "{from}"{"}"}
        ---

        """;

    public async Task InitializeAsync()
    {
        // gpt-4o costs 2 + 8 per million tokens until 14 September, 1 + 4 from 15 September on.
        await File.WriteAllTextAsync(_rates, Rate("gpt-4o-aug", "2026-08-01", "2", "8") + Rate("gpt-4o-sep15", "2026-09-15", "1", "4"));
        _host = await AggregatorHost.StartAsync(db.ConnectionString, verb: "aggregate", args: ["--from", "2026-01-01", "--resources", _rates]);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        File.Delete(_rates);
    }

    private static object Call(string time, string model = "gpt-4o", string agent = "agent-a", long tokens = 1_000_000) => new
    {
        type = "tool_call", time, agent_id = agent, tool_name = "search", server_label = "github", user_id = "u1", tenant_id = "acme",
        model, status = "success", latency_ms = 120, request_bytes = 10, response_bytes = 10, input_tokens = tokens, output_tokens = tokens,
    };

    private async Task PostAsync(params object[] events)
    {
        using var client = _host.Client();
        var response = await client.PostAsJsonAsync("/api/v1/events", events);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task AggregateAsync(string from, string to) =>
        _host.Services.GetRequiredService<DailyAggregator>().AggregateRangeAsync(DateOnly.Parse(from), DateOnly.Parse(to), default);

    private async Task<CostResponse> CostsAsync(string query)
    {
        using var client = _host.Client();
        return (await client.GetFromJsonAsync<CostResponse>($"/api/v1/analytics/costs?{query}"))!;
    }

    [Fact]
    public async Task APriceChangeMidMonthPricesEachDayAtItsOwnRate()
    {
        await PostAsync(Call("2026-09-10T10:00:00Z"), Call("2026-09-14T23:59:59Z"), Call("2026-09-15T00:00:00Z"), Call("2026-09-20T12:00:00Z"));
        await AggregateAsync("2026-09-01", "2026-09-30");

        var usd = Assert.Single((await CostsAsync("from=2026-09-01&to=2026-09-30")).Currencies);
        // 1M input + 1M output tokens a call: 10 USD at the August rate, 5 USD from the 15th.
        Assert.Equal(
            [(new DateOnly(2026, 9, 10), 10m), (new DateOnly(2026, 9, 14), 10m), (new DateOnly(2026, 9, 15), 5m), (new DateOnly(2026, 9, 20), 5m)],
            usd.Series.Select(p => (p.Date, p.Cost)));
        Assert.Equal(30m, usd.Total);
        Assert.Equal(("agent-a", 30m, 4L), (usd.Groups[0].Key, usd.Groups[0].Cost, usd.Groups[0].Calls));
    }

    [Fact]
    public async Task ARateEditAfterAggregationChangesNothingAlreadyAggregated()
    {
        await PostAsync(Call("2026-10-05T08:00:00Z"));
        await AggregateAsync("2026-10-05", "2026-10-05");
        var before = await CostsAsync("from=2026-10-01&to=2026-10-31");
        Assert.Equal(5m, Assert.Single(before.Currencies).Total);

        // The September rate is edited to ten times the price, and its row follows.
        await File.WriteAllTextAsync(_rates, Rate("gpt-4o-aug", "2026-08-01", "2", "8") + Rate("gpt-4o-sep15", "2026-09-15", "10", "40"));
        _host.Services.GetRequiredService<ResourceStore>().Reload();
        await _host.Services.SyncCostRatesAsync(default);
        using (var client = _host.Client())
        {
            var history = (await client.GetFromJsonAsync<PriceHistoryResponse>("/api/v1/costrates"))!;
            Assert.Equal("10", history.Models.Single().Rates.Single(r => r.Name == "gpt-4o-sep15").InputPerMillionTokens);
        }

        var after = await CostsAsync("from=2026-10-01&to=2026-10-31");
        Assert.Equal(5m, Assert.Single(after.Currencies).Total);
        Assert.Equal(before.Currencies[0].Series, after.Currencies[0].Series, new PointComparer());

        // A day aggregated from now on is priced at the edited rate.
        await PostAsync(Call("2026-10-06T08:00:00Z"));
        await AggregateAsync("2026-10-06", "2026-10-06");
        var usd = Assert.Single((await CostsAsync("from=2026-10-01&to=2026-10-31")).Currencies);
        Assert.Equal([5m, 50m], usd.Series.Select(p => p.Cost));
    }

    [Fact]
    public async Task UsageOfAModelWithoutARateIsReportedUnpriced()
    {
        await PostAsync(Call("2026-08-03T08:00:00Z"), Call("2026-08-03T09:00:00Z", model: "in-house-llm", tokens: 500),
            Call("2026-08-04T09:00:00Z", model: "in-house-llm", tokens: 300), Call("2026-07-30T09:00:00Z"));
        await AggregateAsync("2026-07-30", "2026-08-04");

        var costs = await CostsAsync("from=2026-07-01&to=2026-08-31");
        Assert.Equal(10m, Assert.Single(costs.Currencies).Total); // 30 July: before any gpt-4o rate, so unpriced too
        Assert.Equal(
            [new UnpricedModel("gpt-4o", 1, 1_000_000, 1_000_000), new UnpricedModel("in-house-llm", 2, 800, 800)],
            costs.Unpriced.Models.OrderBy(m => m.Model));
        Assert.Equal(3, costs.Unpriced.Calls);
    }

    [Fact]
    public async Task HeatmapAndHealthFollowIngestedEvents()
    {
        // 2026-06-01 is a Monday.
        await PostAsync(Call("2026-06-01T13:10:00Z"), Call("2026-06-01T13:50:00Z"), Call("2026-06-02T07:00:00Z"),
            new { type = "circuit_breaker", time = "2026-06-01T06:00:00Z", server_label = "github", state = "open" },
            new { type = "circuit_breaker", time = "2026-06-01T12:00:00Z", server_label = "github", state = "closed" });
        await AggregateAsync("2026-06-01", "2026-06-02");

        using var client = _host.Client();
        var heatmap = (await client.GetFromJsonAsync<HeatmapResponse>("/api/v1/analytics/heatmap?from=2026-06-01&to=2026-06-07"))!;
        Assert.Equal([new HeatmapCell("search", 1, 13, 2), new HeatmapCell("search", 2, 7, 1)], heatmap.Cells);

        var health = (await client.GetFromJsonAsync<HealthResponse>("/api/v1/analytics/health?from=2026-06-01&to=2026-06-01"))!;
        var github = Assert.Single(health.Servers);
        Assert.Equal(["open", "closed"], github.Intervals.Select(i => i.State));
        Assert.Equal(Math.Round(100 * 12.0 / 18, 3), github.UptimePercent);

        var usage = (await client.GetFromJsonAsync<UsageResponse>("/api/v1/analytics/usage?from=2026-06-01&to=2026-06-07&group_by=server"))!;
        var github2 = usage.Groups.Single();
        Assert.Equal(("github", 3L), (github2.Key, github2.Calls));
        // Two days merged through their histograms: the bucket midpoint, within 12.5 % of 120 ms.
        Assert.InRange(github2.P95LatencyMs!.Value, 120 / 1.125, 120 * 1.125);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/analytics/errors?from=2026-06-01&to=2026-06-07")).StatusCode);
    }

    private sealed class PointComparer : IEqualityComparer<CostPoint>
    {
        public bool Equals(CostPoint? x, CostPoint? y) =>
            x!.Date == y!.Date && x.Cost == y.Cost && x.ByGroup.OrderBy(k => k.Key).SequenceEqual(y.ByGroup.OrderBy(k => k.Key));
        public int GetHashCode(CostPoint p) => p.Date.GetHashCode();
    }
}
