using Npgsql;

namespace AgentMeter.Aggregator.Retention;

/// <summary>What one month's transaction did to the daily tables.</summary>
public sealed record MonthChange(DateOnly Month, bool RolledUp, int Days, long DailyRows, long DimensionRows);

/// <summary>
/// Moves whole months of daily rows past the daily retention out of <c>usage_stats</c>, one month per transaction:
/// the delete and the upsert-add into <c>usage_stats_monthly</c> commit together, so every query
/// (one snapshot) sees each day in exactly one of the two tables, and a pass killed between months
/// leaves whole months done and the rest untouched for the next pass. The month's rows of
/// <c>usage_stats_by_dimension</c> (derived from its daily rows) go in the same statement, so one
/// snapshot sees both or neither: analytics reads a rolled-up month from the monthly rows only, and
/// a deleted month from neither table.
/// </summary>
public static class MonthlyRollup
{
    /// <summary>
    /// First days of the months that still hold daily rows before <paramref name="keepFrom"/>, oldest
    /// first: in usage_stats, or only in usage_stats_by_dimension (left by a pass before that table
    /// was pruned; every day with usage has rows of dimension 'tenant', read by the primary key).
    /// </summary>
    public static async Task<IReadOnlyList<DateOnly>> PendingMonthsAsync(NpgsqlConnection conn, DateOnly keepFrom, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT date_trunc('month', date)::date FROM usage_stats WHERE date < $1
            UNION
            SELECT date_trunc('month', date)::date FROM usage_stats_by_dimension WHERE dimension = 'tenant' AND date < $1
            ORDER BY 1
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = keepFrom });
        var months = new List<DateOnly>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) months.Add(reader.GetFieldValue<DateOnly>(0));
        return months;
    }

    /// <summary>
    /// Rolls the month's days before <paramref name="keepFrom"/> into its monthly rows — adding to
    /// rows already there, as for a day aggregated late into a month rolled up before — or, when
    /// <paramref name="rollUp"/> is false (monthlyRollup off, or the month is past the monthly
    /// retention), deletes them.
    /// </summary>
    public static async Task<MonthChange> MoveAsync(NpgsqlConnection conn, DateOnly month, DateOnly keepFrom, bool rollUp, CancellationToken ct)
    {
        var end = month.AddMonths(1) < keepFrom ? month.AddMonths(1) : keepFrom;
        await using var tx = await conn.BeginTransactionAsync(ct);
        // No command timeout: a big month may take minutes, and a timeout would roll it back and
        // fail every later pass at the same month.
        await using var cmd = new NpgsqlCommand(rollUp ? MoveSql : DeleteSql, conn, tx) { CommandTimeout = 0 };
        cmd.Parameters.Add(new NpgsqlParameter { Value = month });
        cmd.Parameters.Add(new NpgsqlParameter { Value = end });
        MonthChange change;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            change = new MonthChange(month, rollUp, (int)reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }
        await tx.CommitAsync(ct);
        return change;
    }

    /// <summary>Deletes monthly rows of months before <paramref name="keepFrom"/>; returns how many.</summary>
    public static async Task<long> DropMonthsBeforeAsync(NpgsqlConnection conn, DateOnly keepFrom, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("DELETE FROM usage_stats_monthly WHERE month < $1", conn) { CommandTimeout = 0 };
        cmd.Parameters.Add(new NpgsqlParameter { Value = keepFrom });
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private const string DeleteSql = """
        WITH gone AS (DELETE FROM usage_stats WHERE date >= $1 AND date < $2 RETURNING date),
        dimensions AS (DELETE FROM usage_stats_by_dimension WHERE date >= $1 AND date < $2 RETURNING 1)
        SELECT count(DISTINCT date), count(*), (SELECT count(*) FROM dimensions) FROM gone
        """;

    // Sums add up (saturating, Definitions/10_bounded_arithmetic.sql); the average is recomputed from the totals; p95 is read from the merged
    // histogram (max of the daily p95 values, an upper bound, only if a row carried no histogram).
    // Unpriced rows (estimated_cost NULL) go to currency '' with a NULL cost, never a zero.
    private const string MoveSql = """
        WITH moved AS (
            DELETE FROM usage_stats WHERE date >= $1 AND date < $2 RETURNING *
        ), dimensions AS (
            DELETE FROM usage_stats_by_dimension WHERE date >= $1 AND date < $2 RETURNING 1
        ), grouped AS (
            SELECT agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
                   -- A priced row without a currency is refused (NOT NULL), not mixed into unpriced usage.
                   CASE WHEN estimated_cost IS NULL THEN '' ELSE currency END AS currency,
                   -- A day of a group has its own row and one per late-event correction (revision).
                   count(DISTINCT date)::integer AS days,
                   agentmeter_bigint_sum(sum(call_count)) AS call_count,
                   agentmeter_bigint_sum(sum(success_count)) AS success_count,
                   agentmeter_bigint_sum(sum(failure_count)) AS failure_count,
                   sum(agentmeter_bounded_total_latency(total_latency_ms, call_count)) AS total_latency_ms,
                   max(p95_latency_ms) AS max_p95,
                   agentmeter_histogram_merge(latency_histogram) AS histogram,
                   agentmeter_bigint_sum(sum(estimated_input_tokens)) AS input_tokens,
                   agentmeter_bigint_sum(sum(estimated_output_tokens)) AS output_tokens,
                   sum(estimated_cost) AS cost
            FROM moved
            GROUP BY 1, 2, 3, 4, 5, 6, 7
        ), upserted AS (
            INSERT INTO usage_stats_monthly AS m (
                month, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, currency,
                days_rolled_up, call_count, success_count, failure_count, total_latency_ms,
                avg_latency_ms, p95_latency_ms, latency_histogram,
                estimated_input_tokens, estimated_output_tokens, estimated_cost)
            SELECT $1, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, currency,
                   days, call_count, success_count, failure_count, total_latency_ms,
                   CASE WHEN call_count = 0 THEN 0 ELSE total_latency_ms / call_count END,
                   coalesce(agentmeter_histogram_quantile(histogram, 0.95), max_p95),
                   agentmeter_histogram_saturated(histogram),
                   input_tokens, output_tokens, cost
            FROM grouped
            ON CONFLICT (month, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, currency) DO UPDATE SET
                days_rolled_up = m.days_rolled_up + EXCLUDED.days_rolled_up,
                call_count = agentmeter_bigint_sum(m.call_count::numeric + EXCLUDED.call_count),
                success_count = agentmeter_bigint_sum(m.success_count::numeric + EXCLUDED.success_count),
                failure_count = agentmeter_bigint_sum(m.failure_count::numeric + EXCLUDED.failure_count),
                total_latency_ms = m.total_latency_ms + EXCLUDED.total_latency_ms,
                avg_latency_ms = CASE WHEN m.call_count + EXCLUDED.call_count = 0 THEN 0
                    ELSE (m.total_latency_ms + EXCLUDED.total_latency_ms) / (m.call_count + EXCLUDED.call_count) END,
                p95_latency_ms = coalesce(
                    agentmeter_histogram_quantile(agentmeter_histogram_add(m.latency_histogram, EXCLUDED.latency_histogram), 0.95),
                    greatest(m.p95_latency_ms, EXCLUDED.p95_latency_ms)),
                latency_histogram = agentmeter_histogram_saturated(agentmeter_histogram_add(m.latency_histogram, EXCLUDED.latency_histogram)),
                estimated_input_tokens = agentmeter_bigint_sum(m.estimated_input_tokens::numeric + EXCLUDED.estimated_input_tokens),
                estimated_output_tokens = agentmeter_bigint_sum(m.estimated_output_tokens::numeric + EXCLUDED.estimated_output_tokens),
                estimated_cost = m.estimated_cost + EXCLUDED.estimated_cost
        )
        SELECT (SELECT count(DISTINCT date) FROM moved), (SELECT count(*) FROM moved), (SELECT count(*) FROM dimensions)
        """;
}
