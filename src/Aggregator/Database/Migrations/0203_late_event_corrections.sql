-- Late events are counted: tool calls that arrive for a day already aggregated are queued, and the
-- aggregation pass appends them to the day as correction rows. usage_stats stays append-only: the
-- day's own rows are revision 0, the n-th correction of the day adds rows of revision n (one per
-- group of its late events), and every reader sums a day's rows of all revisions.

ALTER TABLE usage_stats ADD COLUMN revision integer NOT NULL DEFAULT 0 CHECK (revision >= 0);
ALTER TABLE usage_stats DROP CONSTRAINT usage_stats_pkey,
    ADD PRIMARY KEY (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, revision);

ALTER TABLE usage_stats_by_dimension ADD COLUMN revision integer NOT NULL DEFAULT 0;
ALTER TABLE usage_stats_by_dimension DROP CONSTRAINT usage_stats_by_dimension_pkey,
    ADD PRIMARY KEY (dimension, date, tenant_id, key, currency, revision)
        INCLUDE (estimated_cost, call_count, estimated_input_tokens, estimated_output_tokens);

ALTER TABLE usage_stats_hourly ADD COLUMN revision integer NOT NULL DEFAULT 0;
ALTER TABLE usage_stats_hourly DROP CONSTRAINT usage_stats_hourly_pkey,
    ADD PRIMARY KEY (date, tenant_id, tool_name, hour, revision);

-- Corrections appended to the day so far (the next one is revision corrections + 1), and when the
-- last was: part of the analytics answer cache's version.
ALTER TABLE aggregated_days ADD COLUMN corrections integer NOT NULL DEFAULT 0,
    ADD COLUMN last_corrected_at timestamptz;

-- The queue: a copy of each late tool call, written in the ingest (or import) transaction that
-- stores it in usage_events, deleted by the transaction that appends it to its day. Not
-- partitioned and never pruned by retention: rows wait here until they are applied.
CREATE TABLE late_tool_calls (LIKE usage_events INCLUDING DEFAULTS);
CREATE INDEX late_tool_calls_time ON late_tool_calls (time);

-- Per day: late tool calls received (event_count, since 0004) and appended to the day
-- (applied_count). Received − applied is still queued, or arrived before this migration (those
-- were only counted).
ALTER TABLE late_events ADD COLUMN applied_count bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_applied timestamptz;

-- Redefined (0100): the rows of one revision of the day, saturating sums (0202).
DROP FUNCTION agentmeter_rollup_dimensions(date);
CREATE FUNCTION agentmeter_rollup_dimensions(day date, rev integer) RETURNS void LANGUAGE sql AS $$
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

-- Redefined (0110): the tool calls of one revision of the day, read from `events` (usage_events
-- for the day's own rows, the late events being applied for a correction).
DROP FUNCTION agentmeter_rollup_hourly(date);
CREATE FUNCTION agentmeter_rollup_hourly(day date, rev integer, events regclass) RETURNS void LANGUAGE plpgsql AS $f$
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

-- Days (or a day's late events) the aggregation pass could not do: the error, and when it is
-- tried again. The days after a failed one are aggregated meanwhile; a row goes once it succeeds.
CREATE TABLE aggregation_failures (
    date            date PRIMARY KEY,
    stage           text NOT NULL CHECK (stage IN ('aggregate', 'late-events')),
    error           text NOT NULL,
    attempts        integer NOT NULL,
    first_failed_at timestamptz NOT NULL,
    last_failed_at  timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL
);
