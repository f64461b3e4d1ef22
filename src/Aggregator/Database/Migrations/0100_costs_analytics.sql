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

