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
