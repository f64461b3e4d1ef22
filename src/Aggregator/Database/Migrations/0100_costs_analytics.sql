-- Costs and analytics: one persisted rate per (model or server, effectiveFrom), and the hourly
-- aggregate behind the heatmap.

-- The rate for (model, day) must be unambiguous for whoever prices a day: the CostRate sync persists
-- one rate per (model, effective_from) and per (server_label, effective_from), and the database
-- holds it to that.
CREATE UNIQUE INDEX cost_rates_model_effective ON cost_rates (model, effective_from) WHERE model IS NOT NULL;
CREATE UNIQUE INDEX cost_rates_server_effective ON cost_rates (server_label, effective_from) WHERE server_label IS NOT NULL;

-- Tool calls per UTC hour, written with the day's usage_stats (IDailyRollup) from the raw events,
-- so the heatmap never reads raw events and outlives their retention.
CREATE TABLE usage_stats_hourly (
    date          date NOT NULL,
    hour          smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    tenant_id     text NOT NULL DEFAULT '',
    tool_name     text NOT NULL DEFAULT '',
    call_count    bigint NOT NULL,
    failure_count bigint NOT NULL,
    PRIMARY KEY (date, tenant_id, tool_name, hour)
);

-- usage_stats summed per day and per group_by dimension, written with the day's usage_stats
-- (IDailyRollup), so /analytics/costs and /analytics/usage read a few thousand rows per day instead
-- of every (agent, tool, server, user, tenant, model) combination (docs/benchmarks-costs.md).
-- currency is '' for unpriced usage (estimated_cost NULL); dimension 'model' with currency '' is the
-- unpriced-per-model breakdown. Days later rolled up into usage_stats_monthly are read from there
-- (the analytics queries skip rolled-up months here), so these rows never count twice.
CREATE TABLE usage_stats_by_dimension (
    date                    date NOT NULL,
    dimension               text NOT NULL CHECK (dimension IN ('agent', 'tenant', 'user', 'server', 'tool', 'model')),
    tenant_id               text NOT NULL,
    key                     text NOT NULL,
    currency                text NOT NULL,
    call_count              bigint NOT NULL,
    success_count           bigint NOT NULL,
    failure_count           bigint NOT NULL,
    total_latency_ms        double precision NOT NULL,
    estimated_input_tokens  bigint NOT NULL,
    estimated_output_tokens bigint NOT NULL,
    estimated_cost          numeric(24, 10),
    stats_rows              bigint NOT NULL,            -- usage_stats rows summed: 1 means max_p95_latency_ms is exact
    max_p95_latency_ms      double precision NOT NULL,
    latency_buckets         integer[] NOT NULL,         -- merged latency histogram, sparse: agentmeter_latency_bucket numbers …
    latency_counts          bigint[] NOT NULL,          -- … and the calls in each
    -- Covering: the costs query is an index-only scan of one dimension's range of days.
    PRIMARY KEY (dimension, date, tenant_id, key, currency)
        INCLUDE (estimated_cost, call_count, estimated_input_tokens, estimated_output_tokens)
);
-- Append-only, one day at a time: vacuum after each day so the visibility map stays current and
-- index-only scans stay free of heap fetches.
ALTER TABLE usage_stats_by_dimension SET (autovacuum_vacuum_insert_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0);

-- The day's rollups, as one function each: called by the aggregation (IDailyRollup, in the day's
-- transaction, after the day's usage_stats) and below for days aggregated before this migration.
CREATE FUNCTION agentmeter_rollup_hourly(day date) RETURNS void LANGUAGE sql AS $$
    INSERT INTO usage_stats_hourly (date, hour, tenant_id, tool_name, call_count, failure_count)
    SELECT day, extract(hour FROM time AT TIME ZONE 'UTC')::smallint, coalesce(tenant_id, ''), coalesce(tool_name, ''),
           count(*), count(*) FILTER (WHERE status = 'failure')
    FROM usage_events
    WHERE type = 'tool_call' AND time >= (day::timestamp AT TIME ZONE 'UTC') AND time < ((day + 1)::timestamp AT TIME ZONE 'UTC')
    GROUP BY 2, 3, 4
$$;

-- Grouped-out columns are NULL in a grouping set while stored values never are ('' for missing), so
-- the first non-NULL column of a set is its key. Sums and merged histograms are grouped alike.
CREATE FUNCTION agentmeter_rollup_dimensions(day date) RETURNS void LANGUAGE sql AS $$
    WITH base AS (
        SELECT *, CASE WHEN estimated_cost IS NULL THEN '' ELSE coalesce(currency, '') END AS cur
        FROM usage_stats WHERE date = day),
    sums AS (
        SELECT CASE WHEN GROUPING(agent_id) = 0 THEN 'agent' WHEN GROUPING(user_id) = 0 THEN 'user'
                    WHEN GROUPING(mcp_server_label) = 0 THEN 'server' WHEN GROUPING(tool_name) = 0 THEN 'tool'
                    WHEN GROUPING(model) = 0 THEN 'model' ELSE 'tenant' END AS dimension,
               tenant_id, coalesce(agent_id, user_id, mcp_server_label, tool_name, model, tenant_id) AS key, cur,
               sum(call_count) AS calls, sum(success_count) AS successes, sum(failure_count) AS failures,
               sum(total_latency_ms) AS latency, sum(estimated_input_tokens) AS tin, sum(estimated_output_tokens) AS tout,
               sum(estimated_cost) AS cost, count(*) AS stats_rows, max(p95_latency_ms) AS max_p95
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
    INSERT INTO usage_stats_by_dimension (date, dimension, tenant_id, key, currency, call_count, success_count,
        failure_count, total_latency_ms, estimated_input_tokens, estimated_output_tokens, estimated_cost,
        stats_rows, max_p95_latency_ms, latency_buckets, latency_counts)
    SELECT day, s.dimension, s.tenant_id, s.key, s.cur, s.calls, s.successes, s.failures, s.latency, s.tin, s.tout, s.cost,
           s.stats_rows, s.max_p95, coalesce(h.buckets, '{}'), coalesce(h.counts, '{}')
    FROM sums s LEFT JOIN histograms h USING (dimension, tenant_id, key, cur)
$$;

SELECT agentmeter_rollup_dimensions(date) FROM (SELECT DISTINCT date FROM usage_stats) d;
SELECT agentmeter_rollup_hourly(date) FROM aggregated_days;
