using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using AgentMeter.Aggregator.Tests.Analytics;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Reports;

/// <summary>
/// Usage of three tenants over three months, every value of tenant-a starting "a-", of tenant-b
/// "b-" and of usage without a tenant "n-" (a leak shows in the raw body). October is daily (with
/// a late-event correction and unpriced usage), September is split (1–14 rolled up by retention,
/// 15–30 daily), August is rolled up. Costs carry ten decimals, so any rounding shows.
/// </summary>
public static class ReportSeed
{
    public static readonly DateOnly Day = new(2026, 10, 5);

    public static StatsRow Row(DateOnly day, string p, string tenant, decimal? cost, string? currency = "USD", string user = "user",
        string model = "model", long calls = 10) =>
        new(day, Agent: $"{p}-agent", Tool: $"{p}-tool", Server: $"{p}-server", User: $"{p}-{user}", Tenant: tenant, Model: $"{p}-{model}",
            Calls: calls, Cost: cost, Currency: currency);

    public static async Task SeedAsync(NpgsqlDataSource db)
    {
        await StatsRows.ClearAsync(db);
        await StatsRows.InsertAsync(db,
            Row(Day, "a", "tenant-a", 0.1234567891m),
            Row(Day, "a", "tenant-a", 2.0000000001m, user: "user-2"),
            Row(Day, "a", "tenant-a", null, currency: null, model: "unpriced", calls: 4),
            Row(Day.AddDays(1), "a", "tenant-a", 0.0049999999m),
            Row(Day, "b", "tenant-b", 7.7700000003m, currency: "EUR"),
            Row(Day, "n", "", 0.3333333333m),
            Row(new DateOnly(2026, 9, 15), "a", "tenant-a", 1.0000000005m),
            Row(new DateOnly(2026, 9, 20), "b", "tenant-b", 0.25m, currency: "EUR"));
        // A late-event correction of the day's first row: revision 1, summed into the same export row.
        await using (var cmd = db.CreateCommand(
            """
            INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count,
                failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens,
                estimated_output_tokens, estimated_cost, currency, revision)
            SELECT date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, 3, 3, 0, 150, 50, 100, '{0,3}', 30, 15,
                   0.0000000007, currency, 1
            FROM usage_stats WHERE date = '2026-10-05' AND user_id = 'a-user' AND model = 'a-model';
            SELECT agentmeter_rollup_dimensions('2026-10-05', 1);
            """))
            await cmd.ExecuteNonQueryAsync();
        await StatsRows.InsertMonthlyAsync(db,
            Row(new DateOnly(2026, 9, 1), "a", "tenant-a", 3.1415926535m),
            Row(new DateOnly(2026, 9, 1), "b", "tenant-b", null, currency: null, model: "unpriced", calls: 2),
            Row(new DateOnly(2026, 8, 1), "a", "tenant-a", 12.0000000009m),
            Row(new DateOnly(2026, 8, 1), "b", "tenant-b", 1.5m, currency: "EUR"),
            Row(new DateOnly(2026, 8, 1), "n", "", null, currency: null, calls: 6));
    }

    /// <summary>The costs API's answer for a month, computed afresh (no answer cache).</summary>
    public static async Task<JsonNode> CostsAsync(HttpClient client, string month, string groupBy = "tenant", string tenant = "")
    {
        var from = DateOnly.ParseExact(month + "-01", "yyyy-MM-dd");
        using var request = new HttpRequestMessage(HttpMethod.Get,
            $"/api/v1/analytics/costs?from={from:yyyy-MM-dd}&to={from.AddMonths(1).AddDays(-1):yyyy-MM-dd}&group_by={groupBy}&limit=1000{tenant}");
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    /// <summary>Total per currency of a costs answer.</summary>
    public static Dictionary<string, decimal> Totals(JsonNode costs) =>
        costs["currencies"]!.AsArray().ToDictionary(c => (string)c!["currency"]!, c => (decimal)c!["total"]!);

    /// <summary>Cost per (currency, group key) of a costs answer.</summary>
    public static Dictionary<(string, string), decimal> Groups(JsonNode costs) =>
        costs["currencies"]!.AsArray().SelectMany(c => c!["groups"]!.AsArray()
            .Select(g => (Key: ((string)c["currency"]!, (string)g!["key"]!), Cost: (decimal)g["cost"]!)))
            .ToDictionary(x => x.Key, x => x.Cost);
}
