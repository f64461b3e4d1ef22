-- Today live: the days not aggregated yet (today, and yesterday until its grace has passed) are
-- rolled up from their raw events every few seconds (Live__RefreshInterval) into live rows: the
-- day's usage_stats-shaped rows in usage_stats_live, and their per-dimension and hourly rollups as
-- revision -1 rows of usage_stats_by_dimension and usage_stats_hourly, written by the same
-- statements as an aggregated day's. Every reader then sums a day's rows of all revisions as
-- before and sees today; the running cost totals follow through their triggers. The transaction
-- that aggregates a day deletes its live rows, so the day's figures are the same before and after.
-- usage_stats itself stays append-only and holds closed days only.
CREATE TABLE usage_stats_live (LIKE usage_stats INCLUDING DEFAULTS);
ALTER TABLE usage_stats_live ADD CHECK (revision = -1),
    ADD PRIMARY KEY (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model);

-- Per live day: when its rows were last rewritten, and what they were computed from (the day's
-- event count, latest ingest time and rates: a refresh that finds the same has nothing to do).
-- refreshed_at is part of the analytics answer cache's version.
CREATE TABLE live_days (
    date         date PRIMARY KEY,
    refreshed_at timestamptz NOT NULL,
    event_count  bigint NOT NULL,
    fingerprint  text NOT NULL
);

-- A day's rows wherever they are: closed days in usage_stats (revision >= 0), live days in
-- usage_stats_live (revision -1). A day is in one of the two at any time.
CREATE VIEW usage_stats_current AS
SELECT * FROM usage_stats
UNION ALL
SELECT * FROM usage_stats_live;

-- Redefined (0002): live days are daily rows too.
CREATE OR REPLACE VIEW usage_stats_all AS
SELECT date AS period_start, date AS period_end, 'daily'::text AS granularity,
       agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
       call_count, success_count, failure_count, total_latency_ms, p95_latency_ms, latency_histogram,
       estimated_input_tokens, estimated_output_tokens, estimated_cost, currency
FROM usage_stats_current
UNION ALL
SELECT month, (month + interval '1 month - 1 day')::date, 'monthly',
       agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
       call_count, success_count, failure_count, total_latency_ms, p95_latency_ms, latency_histogram,
       estimated_input_tokens, estimated_output_tokens, estimated_cost, NULLIF(currency, '')
FROM usage_stats_monthly;

-- Redefined (0203): the rows of one revision of the day, from usage_stats_current, so the live
-- rollup (revision -1) is the same statement as an aggregated day's.
CREATE OR REPLACE FUNCTION agentmeter_rollup_dimensions(day date, rev integer) RETURNS void LANGUAGE sql AS $$
    WITH base AS (
        SELECT *, CASE WHEN estimated_cost IS NULL THEN '' ELSE coalesce(currency, '') END AS cur
        FROM usage_stats_current WHERE date = day AND revision = rev),
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
