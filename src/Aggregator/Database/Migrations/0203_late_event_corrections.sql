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

-- The rollup functions now take the revision (Definitions/50_rollups.sql); their one-argument forms go.
DROP FUNCTION IF EXISTS agentmeter_rollup_dimensions(date);
DROP FUNCTION IF EXISTS agentmeter_rollup_hourly(date);

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
