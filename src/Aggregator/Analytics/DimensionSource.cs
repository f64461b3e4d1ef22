using AgentMeter.Entities.Domain;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// Rows of one group_by dimension over a range: days still daily from usage_stats_by_dimension,
/// days rolled up by retention from usage_stats_monthly (grouped the same way on the fly); a day's
/// late-event corrections are rows of their own (revision ≥ 1), summed like the others; days not aggregated
/// yet are the live rollup's rows (revision −1), left out when <c>closedDaysOnly</c>. Columns:
/// period_start, granularity, key, currency ('' = unpriced), call_count, success_count,
/// failure_count, total_latency_ms, estimated_input_tokens, estimated_output_tokens, estimated_cost,
/// stats_rows, max_p95_latency_ms, latency_buckets, latency_counts (sparse merged histogram).
/// </summary>
public static class DimensionSource
{
    public static string Sql(AnalyticsRequest r, Dimension dimension, DataLayout layout, string prefix, bool closedDaysOnly = false)
    {
        var tenant = r.Tenant is null ? "" : " AND tenant_id = @tenant";
        var closed = closedDaysOnly ? " AND revision >= 0" : "";
        var hasMonths = layout.RolledUpMonths.Count > 0;
        var daily =
            $"""
            SELECT date AS period_start, 'daily' AS granularity, key, currency, call_count, success_count, failure_count,
                   agentmeter_bounded_total_latency(total_latency_ms, call_count) AS total_latency_ms,
                   estimated_input_tokens, estimated_output_tokens, estimated_cost,
                   stats_rows, max_p95_latency_ms, latency_buckets, latency_counts
            FROM usage_stats_by_dimension
            WHERE dimension = @{prefix}dimension AND date BETWEEN @from AND @to AND date >= @dailyfrom{closed}{tenant}
            """;
        if (!hasMonths) return daily;
        return daily +
            $"""

            UNION ALL
            SELECT month, 'monthly', {dimension.Column}, CASE WHEN estimated_cost IS NULL THEN '' ELSE currency END,
                   call_count, success_count, failure_count, agentmeter_bounded_total_latency(total_latency_ms, call_count),
                   estimated_input_tokens, estimated_output_tokens, estimated_cost, 1::bigint, p95_latency_ms,
                   ARRAY(SELECT o::integer - 1 FROM unnest(latency_histogram) WITH ORDINALITY x(v, o) WHERE v > 0 ORDER BY o),
                   ARRAY(SELECT v::bigint FROM unnest(latency_histogram) WITH ORDINALITY x(v, o) WHERE v > 0 ORDER BY o)
            FROM usage_stats_monthly WHERE month = ANY(@months){tenant}
            """;
    }

    public static void Bind(NpgsqlCommand cmd, AnalyticsRequest r, Dimension dimension, DataLayout layout, string prefix)
    {
        cmd.Parameters.AddWithValue($"{prefix}dimension", dimension.Name);
        if (!cmd.Parameters.Contains("months"))
        {
            StatsFilter.Bind(cmd, r);
            cmd.Parameters.AddWithValue("dailyfrom", layout.DailyFrom);
            cmd.Parameters.AddWithValue("months", layout.RolledUpMonths.ToArray());
        }
    }
}
