namespace AgentMeter.Bench;

/// <summary>The hand-written SQL the aggregation is measured against, and the rates both use.</summary>
public static class Baseline
{
    /// <summary>Rates like config/samples: six priced models (one with a price change), llama unpriced, tavily per call.</summary>
    public const string RatesSql =
        """
        INSERT INTO cost_rates (name, model, server_label, currency, input_per_million, output_per_million, cached_input_per_million, tool_call_price, effective_from, bytes_per_token, max_output_tokens) VALUES
          ('gpt-4o-old', 'gpt-4o', NULL, 'USD', 5, 15, NULL, NULL, '2024-05-13', 4, 4096),
          ('gpt-4o', 'gpt-4o', NULL, 'USD', 2.5, 10, 1.25, NULL, '2024-10-02', 4, 16384),
          ('gpt-4o-mini', 'gpt-4o-mini', NULL, 'USD', 0.15, 0.6, 0.075, NULL, '2024-07-18', 4, 16384),
          ('claude-sonnet-4-5', 'claude-sonnet-4-5', NULL, 'USD', 3, 15, 0.3, NULL, '2025-09-29', 4, 64000),
          ('claude-haiku-4-5', 'claude-haiku-4-5', NULL, 'USD', 1, 5, 0.1, NULL, '2025-10-15', 4, 64000),
          ('gemini-2-5-flash', 'gemini-2.5-flash', NULL, 'USD', 0.3, 2.5, 0.075, NULL, '2025-06-17', 4, 65536),
          ('gemini-2-5-pro', 'gemini-2.5-pro', NULL, 'USD', 1.25, 10, 0.31, NULL, '2025-06-17', 4, 65536),
          ('tavily-search', NULL, 'tavily', 'USD', 0, 0, NULL, 0.008, '2025-01-01', 4, NULL);
        """;

    /// <summary>
    /// What one would write by hand for one day, knowing the day is fixed: the rates in force that
    /// day picked once (DISTINCT ON), the cost summed per group from token sums (the rate is
    /// constant within a group), the same exact p95 and histogram.
    /// </summary>
    public const string InsertSql =
        """
        INSERT INTO bench_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
            call_count, success_count, failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram,
            estimated_input_tokens, estimated_output_tokens, estimated_cost, currency)
        SELECT @day, g.agent, g.tool, g.server, g.usr, g.tenant, g.model, g.calls, g.ok, g.failed, g.total, g.avg, g.p95, g.hist, g.input, g.output,
               CASE WHEN (g.model <> '' AND g.m_currency IS NULL) OR (g.model = '' AND g.s_currency IS NULL)
                         OR (g.m_currency <> g.s_currency) THEN NULL
                    ELSE coalesce(((g.input - g.cached) * g.in_p + g.cached * g.cached_p + g.output * g.out_p) / 1000000, 0) + g.calls * coalesce(g.call_p, 0) END,
               CASE WHEN (g.model <> '' AND g.m_currency IS NULL) OR (g.model = '' AND g.s_currency IS NULL)
                         OR (g.m_currency <> g.s_currency) THEN NULL
                    ELSE coalesce(g.m_currency, g.s_currency) END
        FROM (
            SELECT coalesce(e.agent_id, '') AS agent, coalesce(e.tool_name, '') AS tool, coalesce(e.server_label, '') AS server,
                   coalesce(e.user_id, '') AS usr, coalesce(e.tenant_id, '') AS tenant, coalesce(e.model, '') AS model,
                   count(*) AS calls, count(*) FILTER (WHERE e.status = 'success') AS ok, count(*) FILTER (WHERE e.status = 'failure') AS failed,
                   coalesce(sum(e.latency_ms), 0) AS total, coalesce(avg(e.latency_ms), 0) AS avg,
                   coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency_ms), 0) AS p95,
                   agentmeter_latency_histogram(array_agg(agentmeter_latency_bucket(e.latency_ms))) AS hist,
                   sum(coalesce(e.input_tokens, (coalesce(e.request_bytes, 0) + coalesce(m.bytes_per_token, 4) - 1) / coalesce(m.bytes_per_token, 4))) AS input,
                   sum(coalesce(e.output_tokens, least((coalesce(e.response_bytes, 0) + coalesce(m.bytes_per_token, 4) - 1) / coalesce(m.bytes_per_token, 4), m.max_output_tokens))) AS output,
                   sum(coalesce(e.cached_input_tokens, 0)) AS cached,
                   max(m.input_per_million) AS in_p, max(coalesce(m.cached_input_per_million, m.input_per_million)) AS cached_p,
                   max(m.output_per_million) AS out_p, max(m.currency) AS m_currency, max(s.tool_call_price) AS call_p, max(s.currency) AS s_currency
            FROM usage_events e
            LEFT JOIN (SELECT DISTINCT ON (model) * FROM cost_rates WHERE model IS NOT NULL AND effective_from <= @day
                       ORDER BY model, effective_from DESC, name DESC) m ON m.model = e.model
            LEFT JOIN (SELECT DISTINCT ON (server_label) * FROM cost_rates WHERE server_label IS NOT NULL AND tool_call_price IS NOT NULL AND effective_from <= @day
                       ORDER BY server_label, effective_from DESC, name DESC) s ON s.server_label = e.server_label
            WHERE e.time >= @start AND e.time < @end AND e.type = 'tool_call'
            GROUP BY 1, 2, 3, 4, 5, 6) g
        """;

    /// <summary>True when bench_stats and the day's usage_stats hold the same rows (costs compared at the column's scale).</summary>
    public const string CompareSql =
        """
        SELECT NOT EXISTS (
            (SELECT date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count, failure_count,
                    round(total_latency_ms::numeric, 6), p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens,
                    round(estimated_cost, 10), currency FROM usage_stats WHERE date = @day
             EXCEPT
             SELECT date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count, failure_count,
                    round(total_latency_ms::numeric, 6), p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens,
                    round(estimated_cost, 10), currency FROM bench_stats)
            UNION ALL
            (SELECT date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count, failure_count,
                    round(total_latency_ms::numeric, 6), p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens,
                    round(estimated_cost, 10), currency FROM bench_stats
             EXCEPT
             SELECT date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count, failure_count,
                    round(total_latency_ms::numeric, 6), p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens,
                    round(estimated_cost, 10), currency FROM usage_stats WHERE date = @day))
        """;
}
