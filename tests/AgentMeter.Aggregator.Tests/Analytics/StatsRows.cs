using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Analytics;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Analytics;

/// <summary>One usage_stats row as the daily aggregation stores it; the tests write rows directly.</summary>
public sealed record StatsRow(
    DateOnly Date, string Agent = "agent-a", string Tool = "search", string Server = "github", string User = "user-1",
    string Tenant = "tenant-a", string Model = "gpt-4o", long Calls = 10, long Failures = 0, double P95 = 100,
    long In = 1000, long Out = 500, decimal? Cost = 1m, string? Currency = "USD", int[]? Histogram = null);

public static class StatsRows
{
    public static async Task InsertAsync(NpgsqlDataSource db, params StatsRow[] rows)
    {
        await WriteAsync(db, "usage_stats (date", "", rows);
        // What the daily aggregation does after writing a day's usage_stats: the per-dimension rollup
        // and the day's marker.
        await using var conn = await db.OpenConnectionAsync();
        foreach (var day in rows.Select(r => r.Date).Distinct())
        {
            await using var tx = await conn.BeginTransactionAsync();
            await using (var clear = new NpgsqlCommand(
                """
                DELETE FROM usage_stats_by_dimension WHERE date = @day;
                INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES (@day, 0, 0)
                ON CONFLICT (date) DO UPDATE SET aggregated_at = clock_timestamp();
                """, conn, tx))
            {
                clear.Parameters.AddWithValue("day", day);
                await clear.ExecuteNonQueryAsync();
            }
            await new DimensionRollup().WriteAsync(conn, tx, new DayPass(day, 0, "usage_events"), CancellationToken.None);
            await tx.CommitAsync();
        }
    }

    /// <summary>Rows as retention's monthly rollup leaves them (Date = the month's first day; currency '' when unpriced).</summary>
    public static Task InsertMonthlyAsync(NpgsqlDataSource db, params StatsRow[] rows) =>
        WriteAsync(db, "usage_stats_monthly (days_rolled_up, month", "1, ", rows.Select(r => r with { Currency = r.Currency ?? "" }).ToArray());

    private static async Task WriteAsync(NpgsqlDataSource db, string tableAndFirstColumn, string constants, StatsRow[] rows)
    {
        await using var batch = db.CreateBatch();
        foreach (var r in rows)
        {
            var cmd = new NpgsqlBatchCommand(
                $"""
                INSERT INTO {tableAndFirstColumn}, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
                    call_count, success_count, failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram,
                    estimated_input_tokens, estimated_output_tokens, estimated_cost, currency)
                VALUES ({constants}$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
                """);
            object?[] values =
            [
                r.Date, r.Agent, r.Tool, r.Server, r.User, r.Tenant, r.Model, r.Calls, r.Calls - r.Failures, r.Failures,
                r.P95 / 2 * r.Calls, r.P95 / 2, r.P95, r.Histogram ?? Histogram(r.Calls, r.P95), r.In, r.Out, r.Cost, r.Currency,
            ];
            foreach (var v in values) cmd.Parameters.Add(new NpgsqlParameter { Value = v ?? DBNull.Value });
            batch.BatchCommands.Add(cmd);
        }
        await batch.ExecuteNonQueryAsync();
    }

    /// <summary>Every call in the bucket of <paramref name="ms"/> (agentmeter_latency_bucket), trailing zeros cut.</summary>
    public static int[] Histogram(long calls, double ms)
    {
        var bucket = ms < 1 ? 0 : Math.Min(1 + (int)Math.Floor(Math.Log(ms) / Math.Log(1.25)), 99);
        var h = new int[bucket + 1];
        h[bucket] = (int)calls;
        return h;
    }

    public static async Task ClearAsync(NpgsqlDataSource db)
    {
        // The host's live refresh runs every few seconds and locks some of these tables in its own order; when
        // PostgreSQL picks this TRUNCATE as a deadlock's victim, nothing was cleared and it is simply run again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var cmd = db.CreateCommand(
                    "TRUNCATE usage_stats, usage_stats_by_dimension, usage_stats_monthly, usage_stats_hourly, server_health_events, cost_rates, aggregated_days");
                await cmd.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < 5)
            {
            }
        }
    }
}
