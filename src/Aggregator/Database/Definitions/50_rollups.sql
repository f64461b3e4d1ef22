-- Rollups of aggregated days: one view over the daily and monthly rows, and the functions that
-- write a day's hourly and per-dimension rows. The aggregation (IDailyRollup) calls them in the
-- day's transaction, after the day's usage_stats, once per revision (the day's own rows are
-- revision 0, each late-event correction adds the next).

-- Daily and monthly rows side by side; a day lives in exactly one of the two tables at any time.
CREATE OR REPLACE VIEW usage_stats_all AS
SELECT date AS period_start, date AS period_end, 'daily'::text AS granularity,
       agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
       call_count, success_count, failure_count, total_latency_ms, p95_latency_ms, latency_histogram,
       estimated_input_tokens, estimated_output_tokens, estimated_cost, currency
FROM usage_stats
UNION ALL
SELECT month, (month + interval '1 month - 1 day')::date, 'monthly',
       agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
       call_count, success_count, failure_count, total_latency_ms, p95_latency_ms, latency_histogram,
       estimated_input_tokens, estimated_output_tokens, estimated_cost, NULLIF(currency, '')
FROM usage_stats_monthly;

-- The tool calls of one revision of the day, per UTC hour, read from `events` (usage_events for
-- the day's own rows, the late events being applied for a correction). PL/pgSQL with EXECUTE …
-- USING, so the query is planned for the day it is given: as a LANGUAGE sql function it was
-- planned without the day's value, and the planner guessed a few thousand rows and sorted the
-- day's million events to group them (1.4 s of a 1M-event day, measured; with the values known it
-- hash-aggregates in ~0.3 s). date_part returns a float, cheaper than extract's numeric.
CREATE OR REPLACE FUNCTION agentmeter_rollup_hourly(day date, rev integer, events regclass) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE format($q$
        INSERT INTO usage_stats_hourly (date, hour, tenant_id, tool_name, revision, call_count, failure_count)
        SELECT $1, date_part('hour', time AT TIME ZONE 'UTC')::smallint, coalesce(tenant_id, ''), coalesce(tool_name, ''), $4,
               count(*), count(*) FILTER (WHERE status = 'failure')
        FROM %s
        WHERE type = 'tool_call' AND time >= $2 AND time < $3
        GROUP BY 2, 3, 4
    $q$, events)
    USING day, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC', rev;
END
$f$;

-- usage_stats of one revision of the day summed per group_by dimension, with saturating sums
-- (10_bounded_arithmetic.sql). Grouped-out columns are NULL in a grouping set while stored values
-- never are ('' for missing), so the first non-NULL column of a set is its key. Sums and merged
-- histograms are grouped alike.
CREATE OR REPLACE FUNCTION agentmeter_rollup_dimensions(day date, rev integer) RETURNS void LANGUAGE sql AS $$
    WITH base AS (
        SELECT *, CASE WHEN estimated_cost IS NULL THEN '' ELSE coalesce(currency, '') END AS cur
        FROM usage_stats WHERE date = day AND revision = rev),
    sums AS (
        SELECT CASE WHEN GROUPING(agent_id) = 0 THEN 'agent' WHEN GROUPING(user_id) = 0 THEN 'user'
                    WHEN GROUPING(mcp_server_label) = 0 THEN 'server' WHEN GROUPING(tool_name) = 0 THEN 'tool'
                    WHEN GROUPING(model) = 0 THEN 'model' ELSE 'tenant' END AS dimension,
               tenant_id, coalesce(agent_id, user_id, mcp_server_label, tool_name, model, tenant_id) AS key, cur,
               sum(call_count) AS calls, sum(success_count) AS successes, sum(failure_count) AS failures,
               sum(agentmeter_bounded_total_latency(total_latency_ms, call_count)) AS latency,
               agentmeter_day_sum(sum(estimated_input_tokens)) AS tin, agentmeter_day_sum(sum(estimated_output_tokens)) AS tout,
               agentmeter_day_cost(sum(estimated_cost)) AS cost, count(*) AS stats_rows, max(p95_latency_ms) AS max_p95
        FROM base
        GROUP BY GROUPING SETS ((tenant_id, cur, agent_id), (tenant_id, cur, user_id), (tenant_id, cur, mcp_server_label),
                                (tenant_id, cur, tool_name), (tenant_id, cur, model), (tenant_id, cur))),
    buckets AS (
        SELECT CASE WHEN GROUPING(agent_id) = 0 THEN 'agent' WHEN GROUPING(user_id) = 0 THEN 'user'
                    WHEN GROUPING(mcp_server_label) = 0 THEN 'server' WHEN GROUPING(tool_name) = 0 THEN 'tool'
                    WHEN GROUPING(model) = 0 THEN 'model' ELSE 'tenant' END AS dimension,
               tenant_id, coalesce(agent_id, user_id, mcp_server_label, tool_name, model, tenant_id) AS key, cur,
               h.ord::integer - 1 AS bucket, sum(h.n) AS n
        FROM base, unnest(latency_histogram) WITH ORDINALITY h(n, ord)
        WHERE h.n > 0
        GROUP BY GROUPING SETS ((tenant_id, cur, agent_id, h.ord), (tenant_id, cur, user_id, h.ord),
                                (tenant_id, cur, mcp_server_label, h.ord), (tenant_id, cur, tool_name, h.ord),
                                (tenant_id, cur, model, h.ord), (tenant_id, cur, h.ord))),
    histograms AS (
        SELECT dimension, tenant_id, key, cur, array_agg(bucket ORDER BY bucket) AS buckets, array_agg(n::bigint ORDER BY bucket) AS counts
        FROM buckets GROUP BY 1, 2, 3, 4)
    INSERT INTO usage_stats_by_dimension (date, dimension, tenant_id, key, currency, revision, call_count, success_count,
        failure_count, total_latency_ms, estimated_input_tokens, estimated_output_tokens, estimated_cost,
        stats_rows, max_p95_latency_ms, latency_buckets, latency_counts)
    SELECT day, s.dimension, s.tenant_id, s.key, s.cur, rev, s.calls, s.successes, s.failures, s.latency, s.tin, s.tout, s.cost,
           s.stats_rows, s.max_p95, coalesce(h.buckets, '{}'), coalesce(h.counts, '{}')
    FROM sums s LEFT JOIN histograms h USING (dimension, tenant_id, key, cur)
$$;
