-- Today live: the days not aggregated yet (today, and yesterday until its grace has passed) are
-- rolled up from their raw events every few seconds (Live__RefreshInterval) into live rows: the
-- day's usage_stats-shaped rows in usage_stats_live, and their per-dimension and hourly rollups as
-- revision -1 rows of usage_stats_by_dimension and usage_stats_hourly, written by the same
-- statements as an aggregated day's. Every reader then sums a day's rows of all revisions as
-- before and sees today; the running cost totals follow through their triggers. The transaction
-- that aggregates a day deletes its live rows, so the day's figures are the same before and after.
-- usage_stats itself stays append-only and holds closed days only. The view over both
-- (usage_stats_current) is in Definitions/45_live.sql.
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
