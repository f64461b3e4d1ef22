using Npgsql;
using NpgsqlTypes;

namespace AgentMeter.Bench.Analytics;

/// <summary>
/// Sparse, realistic usage_stats: 500 agents in 20 tenants, each agent serving 3 of its tenant's 50
/// users with 8 of the 40 tools (each tool lives on one of 10 MCP servers) and 1–2 of 5 models;
/// on a given day about half of an agent's (tool, model, user) combinations are used. One model is
/// priced in EUR, one has no rate (unpriced), the rest in USD.
/// </summary>
public static class UsageStatsGenerator
{
    public const int Agents = 500, Tenants = 20, Tools = 40, Servers = 10, UsersPerTenant = 50;

    private static readonly (string Model, string? Currency, decimal In, decimal Out)[] Models =
    [
        ("gpt-4o", "USD", 2.50m, 10m), ("gpt-4o-mini", "USD", 0.15m, 0.60m), ("claude-sonnet-4-5", "USD", 3m, 15m),
        ("mistral-large", "EUR", 1.80m, 5.40m), ("in-house-llm", null, 0, 0),
    ];

    private sealed record AgentShape(string Id, string Tenant, string[] Users, int[] Tools, int[] Models);

    private static AgentShape[] Shapes(Random random) =>
        Enumerable.Range(0, Agents).Select(a => new AgentShape(
            $"agent-{a:D3}",
            $"tenant-{a % Tenants:D2}",
            Enumerable.Range(0, 3).Select(_ => $"user-{a % Tenants:D2}-{random.Next(UsersPerTenant):D2}").Distinct().ToArray(),
            Enumerable.Range(0, Tools).OrderBy(_ => random.Next()).Take(8).ToArray(),
            Enumerable.Range(0, Models.Length).OrderBy(_ => random.Next()).Take(1 + random.Next(2)).ToArray())).ToArray();

    /// <summary>CostRates of the priced models (effective well before the data), for the live rollup to price today's events.</summary>
    public static string CostRatesYaml(DateOnly from) => string.Join("---\n", Models.Where(m => m.Currency is not null).Select(m => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata:
          name: {m.Model}
        spec:
          model: {m.Model}
          currency: {m.Currency}
          inputPerMillionTokens: "{m.In.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
          outputPerMillionTokens: "{m.Out.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
          effectiveFrom: "{from:yyyy-MM-dd}"

        """));

    /// <summary>
    /// Raw tool calls of today up to <paramref name="until"/>, of the same agents as the daily rows, as the gateways
    /// send them: about half a day's calls of each used (tool, model, user) combination, spread over the day so far.
    /// <paramref name="scale"/> multiplies the number of calls (a trickle: a small fraction).
    /// </summary>
    public static async Task<long> WriteTodayEventsAsync(NpgsqlDataSource db, DateTimeOffset until, double scale = 1, int seed = 42)
    {
        var agents = Shapes(new Random(seed));
        var random = new Random(seed + (int)until.ToUnixTimeSeconds());
        var midnight = new DateTimeOffset(until.UtcDateTime.Date, TimeSpan.Zero);
        var span = Math.Max(1, (until - midnight).TotalSeconds - 1);
        long events = 0;
        await using var conn = await db.OpenConnectionAsync();
        await using var copy = await conn.BeginBinaryImportAsync(
            """
            COPY usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, model, status, latency_ms,
                input_tokens, output_tokens) FROM STDIN (FORMAT BINARY)
            """);
        foreach (var a in agents)
            foreach (var tool in a.Tools)
                foreach (var m in a.Models)
                    foreach (var user in a.Users)
                    {
                        if (random.NextDouble() < 0.5) continue;
                        var calls = (long)Math.Round((1 + Math.Exp(random.NextDouble() * 5)) / 2 * scale);
                        for (var c = 0; c < calls; c++)
                        {
                            await copy.StartRowAsync();
                            await copy.WriteAsync(scale < 1 ? until : midnight.AddSeconds(random.NextDouble() * span), NpgsqlDbType.TimestampTz);
                            await copy.WriteAsync("tool_call");
                            await copy.WriteAsync(a.Id);
                            await copy.WriteAsync($"tool-{tool:D2}");
                            await copy.WriteAsync($"server-{tool % Servers}");
                            await copy.WriteAsync(user);
                            await copy.WriteAsync(a.Tenant);
                            await copy.WriteAsync(Models[m].Model);
                            await copy.WriteAsync(random.NextDouble() < 0.03 ? "failure" : "success");
                            await copy.WriteAsync(20 + random.NextDouble() * 400);
                            await copy.WriteAsync((long)random.Next(200, 4000));
                            await copy.WriteAsync((long)random.Next(50, 800));
                            events++;
                        }
                    }
        await copy.CompleteAsync();
        return events;
    }

    public static async Task<long> WriteAsync(NpgsqlDataSource db, DateOnly firstDay, int days, int seed = 42)
    {
        var random = new Random(seed);
        var agents = Shapes(random);

        long rows = 0;
        await using var conn = await db.OpenConnectionAsync();
        await using (var copy = await conn.BeginBinaryImportAsync(
            """
            COPY usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count,
                failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens,
                estimated_output_tokens, estimated_cost, currency) FROM STDIN (FORMAT BINARY)
            """))
        {
        for (var d = 0; d < days; d++)
        {
            var day = firstDay.AddDays(d);
            foreach (var a in agents)
                foreach (var tool in a.Tools)
                    foreach (var m in a.Models)
                        foreach (var user in a.Users)
                        {
                            if (random.NextDouble() < 0.5) continue;
                            var calls = 1 + (long)Math.Exp(random.NextDouble() * 5); // 2 … ~150, long-tailed
                            var failures = random.NextDouble() < 0.2 ? random.Next(0, (int)Math.Min(calls, 5) + 1) : 0;
                            var avg = 20 + random.NextDouble() * 400;
                            var bucket = 1 + (int)Math.Floor(Math.Log(avg) / Math.Log(1.25));
                            var histogram = new int[bucket + 4];
                            histogram[bucket] = (int)(calls * 0.8);
                            histogram[bucket + 3] = (int)(calls - calls * 8 / 10);
                            var input = calls * random.Next(200, 4000);
                            var output = calls * random.Next(50, 800);
                            var (model, currency, inRate, outRate) = Models[m];
                            await copy.StartRowAsync();
                            await copy.WriteAsync(day, NpgsqlDbType.Date);
                            await copy.WriteAsync(a.Id);
                            await copy.WriteAsync($"tool-{tool:D2}");
                            await copy.WriteAsync($"server-{tool % Servers}");
                            await copy.WriteAsync(user);
                            await copy.WriteAsync(a.Tenant);
                            await copy.WriteAsync(model);
                            await copy.WriteAsync(calls);
                            await copy.WriteAsync(calls - failures);
                            await copy.WriteAsync((long)failures);
                            await copy.WriteAsync(avg * calls);
                            await copy.WriteAsync(avg);
                            await copy.WriteAsync(avg * 2.5);
                            await copy.WriteAsync(histogram);
                            await copy.WriteAsync(input);
                            await copy.WriteAsync(output);
                            if (currency is null)
                            {
                                await copy.WriteNullAsync();
                                await copy.WriteNullAsync();
                            }
                            else
                            {
                                await copy.WriteAsync(Math.Round((input * inRate + output * outRate) / 1_000_000m, 10), NpgsqlDbType.Numeric);
                                await copy.WriteAsync(currency);
                            }
                            rows++;
                        }
        }
        await copy.CompleteAsync();
        }
        await using var analyze = new NpgsqlCommand("ANALYZE usage_stats", conn) { CommandTimeout = 0 };
        await analyze.ExecuteNonQueryAsync();
        return rows;
    }
}
