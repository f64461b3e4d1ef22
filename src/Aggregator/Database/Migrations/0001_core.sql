-- Core schema: raw events, daily aggregates, cost rates, job bookkeeping.

-- Raw events, partitioned by UTC day. Partitions are created on demand (agentmeter_ensure_event_partition)
-- by whoever writes a day, and dropped whole by retention, so the table never bloats with DELETEs.
CREATE TABLE usage_events (
    time                timestamptz NOT NULL,
    type                text NOT NULL CHECK (type IN ('tool_call', 'agent_request', 'circuit_breaker', 'sse_connection')),
    event_id            text,
    agent_id            text,
    tool_name           text,
    server_label        text,
    user_id             text,
    tenant_id           text,
    model               text,
    status              text,             -- tool_call: success | failure
    latency_ms          double precision,
    request_bytes       bigint,
    response_bytes      bigint,
    input_tokens        bigint,           -- when the gateway knows them
    output_tokens       bigint,
    cached_input_tokens bigint,
    method              text,             -- agent_request
    state               text,             -- circuit_breaker: closed | open | half_open; sse_connection: opened | closed
    source              text NOT NULL DEFAULT 'ingest',
    ingested_at         timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (time);

-- Per-day aggregates. Append-only: a day is written once, completely, in one transaction.
-- Missing dimensions are stored as '' so the natural key is a primary key.
CREATE TABLE usage_stats (
    date                    date NOT NULL,
    agent_id                text NOT NULL DEFAULT '',
    tool_name               text NOT NULL DEFAULT '',
    mcp_server_label        text NOT NULL DEFAULT '',
    user_id                 text NOT NULL DEFAULT '',
    tenant_id               text NOT NULL DEFAULT '',
    model                   text NOT NULL DEFAULT '',
    call_count              bigint NOT NULL,
    success_count           bigint NOT NULL,
    failure_count           bigint NOT NULL,
    total_latency_ms        double precision NOT NULL,
    avg_latency_ms          double precision NOT NULL,
    p95_latency_ms          double precision NOT NULL,   -- exact: percentile_cont(0.95) over the day's calls
    latency_histogram       integer[] NOT NULL,          -- counts per agentmeter_latency_bucket, trailing zeros cut
    estimated_input_tokens  bigint NOT NULL,
    estimated_output_tokens bigint NOT NULL,
    estimated_cost          numeric(24, 10),             -- NULL: no rate in force that day (unpriced, never a silent zero)
    currency                text,
    PRIMARY KEY (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model)
);
CREATE INDEX usage_stats_tenant_date ON usage_stats (tenant_id, date);

-- One row per aggregated day: the marker that makes re-running a day a no-op.
CREATE TABLE aggregated_days (
    date          date PRIMARY KEY,
    aggregated_at timestamptz NOT NULL DEFAULT now(),
    event_count   bigint NOT NULL,
    stats_rows    bigint NOT NULL
);

-- Cost rates in force, one row per CostRate resource; several rows of one model with different
-- effective_from form its price history. The rate for (model, day) is the row with the latest
-- effective_from <= day.
CREATE TABLE cost_rates (
    name                     text PRIMARY KEY,
    model                    text,
    server_label             text,
    currency                 text NOT NULL,
    input_per_million        numeric NOT NULL DEFAULT 0,
    output_per_million       numeric NOT NULL DEFAULT 0,
    cached_input_per_million numeric,
    tool_call_price          numeric,
    effective_from           date NOT NULL,
    bytes_per_token          integer NOT NULL DEFAULT 4 CHECK (bytes_per_token > 0),
    max_output_tokens        bigint,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK ((model IS NULL) <> (server_label IS NULL))
);
CREATE INDEX cost_rates_model ON cost_rates (model, effective_from);

-- Circuit-breaker transitions, kept apart from raw events so health history outlives raw retention.
CREATE TABLE server_health_events (
    time         timestamptz NOT NULL,
    server_label text NOT NULL,
    state        text NOT NULL CHECK (state IN ('closed', 'open', 'half_open'))
);
CREATE INDEX server_health_events_server_time ON server_health_events (server_label, time);

-- Runs of scheduled jobs (aggregation, import, retention …) for status endpoints and debugging.
CREATE TABLE job_runs (
    id          bigserial PRIMARY KEY,
    job         text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    result      text,            -- Succeeded | Failed
    details     jsonb
);
CREATE INDEX job_runs_job_started ON job_runs (job, started_at DESC);

-- Audit-log import position per source.
CREATE TABLE import_watermarks (
    source     text PRIMARY KEY,
    last_id    bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
