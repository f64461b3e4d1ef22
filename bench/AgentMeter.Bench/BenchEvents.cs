using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace AgentMeter.Bench;

/// <summary>One generated tool call, with realistic dimension cardinalities.</summary>
public sealed record BenchEvent(
    DateTime Time, string EventId, string Agent, string Tool, string Server, string User, string Tenant, string Model,
    bool Success, double LatencyMs, long RequestBytes, long ResponseBytes, long? InputTokens, long? OutputTokens);

public static class BenchEvents
{
    private static readonly string[] Models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-flash", "gemini-2.5-pro", "llama-3.1-70b"];
    private static readonly string[] Servers = ["github", "jira", "slack", "postgres", "tavily", "filesystem", "confluence"];

    /// <summary>
    /// 40 agents on 4 tenants, 18 tools on 7 servers, 60 users, 7 models; log-normal latency with a
    /// tail; 30 % of calls with gateway token counts. Times spread over the day's first
    /// <paramref name="span"/> (the whole day by default), in random order; ids like a gateway's
    /// (ev-PREFIX-DAY-N).
    /// </summary>
    public static IEnumerable<BenchEvent> Generate(int count, DateOnly day, int seed, string idPrefix, TimeSpan? span = null)
    {
        var rng = new Random(seed);
        var start = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var ticks = (span ?? TimeSpan.FromDays(1)).Ticks;
        for (var i = 0; i < count; i++)
        {
            var agent = rng.Next(40);
            var tool = (agent * 7 + rng.Next(5)) % 18;
            var latency = Math.Round(100 * Math.Exp(0.8 * Normal(rng)) * (rng.NextDouble() < 0.02 ? 10 : 1), 2);
            var tokens = rng.NextDouble() < 0.3;
            yield return new BenchEvent(
                start.AddTicks((long)(rng.NextDouble() * ticks)), $"ev-{idPrefix}-{day:yyyy-MM-dd}-{i}",
                $"agent-{agent}", $"tool-{tool}", Servers[tool % Servers.Length], $"user-{(agent * 3 + rng.Next(6)) % 60}",
                $"tenant-{agent % 4}", Models[agent % Models.Length], rng.NextDouble() > 0.02, latency,
                200 + rng.Next(4000), 500 + rng.Next(40_000), tokens ? 100 + rng.Next(5000) : null, tokens ? 20 + rng.Next(800) : null);
        }
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A batch as the JSON array a gateway posts: RFC 3339 times with 6 fractional digits, as gateways write them.</summary>
    public static byte[] Json(IEnumerable<BenchEvent> batch, bool withIds) => JsonSerializer.SerializeToUtf8Bytes(batch.Select(e => new Dictionary<string, object?>
    {
        ["type"] = "tool_call", ["time"] = e.Time.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture), ["event_id"] = withIds ? e.EventId : null, ["agent_id"] = e.Agent, ["tool_name"] = e.Tool,
        ["server_label"] = e.Server, ["user_id"] = e.User, ["tenant_id"] = e.Tenant, ["model"] = e.Model,
        ["status"] = e.Success ? "success" : "failure", ["latency_ms"] = e.LatencyMs, ["request_bytes"] = e.RequestBytes,
        ["response_bytes"] = e.ResponseBytes, ["input_tokens"] = e.InputTokens, ["output_tokens"] = e.OutputTokens,
    }.Where(kv => kv.Value is not null).ToDictionary()));

    /// <summary>Raw binary COPY of the rows into usage_events: the baseline ingest is measured against.</summary>
    public static async Task CopyAsync(NpgsqlConnection conn, IEnumerable<BenchEvent> events, bool withIds = true)
    {
        await using var copy = await conn.BeginBinaryImportAsync(
            "COPY usage_events (time, type, event_id, agent_id, tool_name, server_label, user_id, tenant_id, model, status, " +
            "latency_ms, request_bytes, response_bytes, input_tokens, output_tokens) FROM STDIN (FORMAT BINARY)");
        foreach (var e in events)
        {
            await copy.StartRowAsync();
            await copy.WriteAsync(e.Time, NpgsqlDbType.TimestampTz);
            await copy.WriteAsync("tool_call", NpgsqlDbType.Text);
            if (withIds) await copy.WriteAsync(e.EventId, NpgsqlDbType.Text); else await copy.WriteNullAsync();
            await copy.WriteAsync(e.Agent, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Tool, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Server, NpgsqlDbType.Text);
            await copy.WriteAsync(e.User, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Tenant, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Model, NpgsqlDbType.Text);
            await copy.WriteAsync(e.Success ? "success" : "failure", NpgsqlDbType.Text);
            await copy.WriteAsync(e.LatencyMs, NpgsqlDbType.Double);
            await copy.WriteAsync(e.RequestBytes, NpgsqlDbType.Bigint);
            await copy.WriteAsync(e.ResponseBytes, NpgsqlDbType.Bigint);
            if (e.InputTokens is { } i) await copy.WriteAsync(i, NpgsqlDbType.Bigint); else await copy.WriteNullAsync();
            if (e.OutputTokens is { } o) await copy.WriteAsync(o, NpgsqlDbType.Bigint); else await copy.WriteNullAsync();
        }
        await copy.CompleteAsync();
    }
}
