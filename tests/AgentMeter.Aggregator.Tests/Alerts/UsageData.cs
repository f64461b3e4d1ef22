using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Alerts;

/// <summary>Writes the rows alert evaluation reads, the way ingest and daily aggregation would.</summary>
public static class UsageData
{
    public static async Task CallsAsync(NpgsqlDataSource db, DateTimeOffset time, int count, string agent = "agent-a", string? tenant = "tenant-a",
        string tool = "search", string server = "github", string? model = null, string status = "success", double latencyMs = 100,
        long requestBytes = 0, long responseBytes = 0)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition(@day::date)", new { day = time.UtcDateTime.Date });
        await conn.ExecuteAsync(
            """
            INSERT INTO usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, model, status, latency_ms, request_bytes, response_bytes)
            SELECT @time, 'tool_call', @agent, @tool, @server, 'user-1', @tenant, @model, @status, @latencyMs, @requestBytes, @responseBytes
            FROM generate_series(1, @count)
            """, new { time = time.UtcDateTime, agent, tool, server, tenant, model, status, latencyMs, requestBytes, responseBytes, count });
    }

    /// <summary>One usage_stats row of an aggregated day (and the day's aggregated_days marker).</summary>
    public static async Task StatsAsync(NpgsqlDataSource db, DateOnly date, long calls, string agent = "agent-a", string tenant = "tenant-a",
        long failures = 0, long inputTokens = 0, long outputTokens = 0, decimal? cost = null, string? currency = null, string model = "",
        int[]? histogram = null)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync(
            """
            INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count, failure_count,
                                     total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens,
                                     estimated_output_tokens, estimated_cost, currency)
            VALUES (@date, @agent, 'search', 'github', 'user-1', @tenant, @model, @calls, @calls - @failures, @failures,
                    0, 0, 0, @histogram, @inputTokens, @outputTokens, @cost, @currency);
            INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES (@date, @calls, 1) ON CONFLICT (date) DO NOTHING;
            """,
            new
            {
                date = date.ToDateTime(TimeOnly.MinValue), agent, tenant, model, calls, failures, inputTokens, outputTokens, cost, currency,
                histogram = histogram ?? [],
            });
    }
}
