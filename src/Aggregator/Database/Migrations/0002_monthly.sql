-- Monthly rollup of days past the daily retention, and one view over both granularities.

CREATE TABLE usage_stats_monthly (
    month                   date NOT NULL CHECK (extract(day FROM month) = 1),
    agent_id                text NOT NULL DEFAULT '',
    tool_name               text NOT NULL DEFAULT '',
    mcp_server_label        text NOT NULL DEFAULT '',
    user_id                 text NOT NULL DEFAULT '',
    tenant_id               text NOT NULL DEFAULT '',
    model                   text NOT NULL DEFAULT '',
    -- A rate may change currency within a month, and unpriced days must stay visible as such:
    -- one row per currency, '' for unpriced usage (estimated_cost NULL).
    currency                text NOT NULL DEFAULT '',
    days_rolled_up          integer NOT NULL,
    call_count              bigint NOT NULL,
    success_count           bigint NOT NULL,
    failure_count           bigint NOT NULL,
    total_latency_ms        double precision NOT NULL,
    avg_latency_ms          double precision NOT NULL,
    p95_latency_ms          double precision NOT NULL,   -- from the merged histogram: within 12.5 %
    latency_histogram       integer[] NOT NULL,
    estimated_input_tokens  bigint NOT NULL,
    estimated_output_tokens bigint NOT NULL,
    estimated_cost          numeric(24, 10),
    PRIMARY KEY (month, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, currency)
);
CREATE INDEX usage_stats_monthly_tenant_month ON usage_stats_monthly (tenant_id, month);
