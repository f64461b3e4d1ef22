using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Retention;

/// <summary>
/// The analytics API over the same range before and after a retention pass: every group's calls,
/// failures, tokens and cost per currency are unchanged, only the granularity of the old months.
/// </summary>
public class RetentionAnalyticsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const string Range = "from=2026-06-01&to=2026-11-28";

    [Fact]
    public async Task UsageAndCostsAnswersAreTheSameAfterRollupForEveryGroupBy()
    {
        // June and July roll up (whole months before the one holding today − 90); August stays daily.
        await using var app = await AggregatedApp.StartAsync(db, new DateOnly(2026, 6, 10), new DateOnly(2026, 8, 20));
        var client = app.Client;

        string[] groupBys = ["agent", "tenant", "user", "server", "tool", "model"];
        var before = new Dictionary<string, (string Usage, string Costs)>();
        foreach (var g in groupBys)
            before[g] = (await UsageAsync(client, g), await CostsAsync(client, g));
        var granularityBefore = await GranularityAsync(client);

        Assert.Equal(0, await app.Services.RunRetentionOnceAsync(CancellationToken.None));

        Assert.Equal(2L, await UsageSeed.ScalarAsync<long>(db.DataSource, "SELECT count(DISTINCT month) FROM usage_stats_monthly"));
        foreach (var g in groupBys)
        {
            Assert.Equal(before[g].Usage, await UsageAsync(client, g));
            Assert.Equal(before[g].Costs, await CostsAsync(client, g));
        }
        Assert.Equal("[2026-06-01..2026-11-28 daily]", granularityBefore);
        Assert.Equal("[2026-06-01..2026-06-30 monthly, 2026-07-01..2026-07-31 monthly, 2026-08-01..2026-11-28 daily]", await GranularityAsync(client));
    }

    /// <summary>Totals and groups without the latency figures (p95 becomes a histogram estimate by design).</summary>
    private static async Task<string> UsageAsync(HttpClient client, string groupBy)
    {
        var body = JsonNode.Parse(await client.GetStringAsync($"/api/v1/analytics/usage?{Range}&group_by={groupBy}&limit=1000"))!;
        var rows = new[] { body["totals"]! }.Concat(body["groups"]!.AsArray().OfType<JsonNode>()).Select(n =>
            $"{n["key"]} calls={n["calls"]} ok={n["successes"]} failed={n["failures"]} in={n["inputTokens"]} out={n["outputTokens"]}");
        Assert.True((long)body["totals"]!["calls"]! > 0);
        return string.Join("\n", rows);
    }

    private static async Task<string> CostsAsync(HttpClient client, string groupBy)
    {
        var body = JsonNode.Parse(await client.GetStringAsync($"/api/v1/analytics/costs?{Range}&group_by={groupBy}"))!;
        var currencies = body["currencies"]!.AsArray().Select(c =>
            $"{c!["currency"]} total={c["total"]}: " + string.Join(", ", c["groups"]!.AsArray().Select(g =>
                $"{g!["key"]} cost={g["cost"]} calls={g["calls"]} in={g["inputTokens"]} out={g["outputTokens"]}")));
        Assert.Equal(2, body["currencies"]!.AsArray().Count);
        return string.Join("\n", currencies) + $"\nunpriced {body["unpriced"]!.ToJsonString()}";
    }

    private static async Task<string> GranularityAsync(HttpClient client)
    {
        using var body = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/analytics/usage?{Range}&group_by=agent"));
        return "[" + string.Join(", ", body.RootElement.GetProperty("granularity").EnumerateArray().Select(p =>
            $"{p.GetProperty("from").GetString()}..{p.GetProperty("to").GetString()} {p.GetProperty("granularity").GetString()}")) + "]";
    }
}
