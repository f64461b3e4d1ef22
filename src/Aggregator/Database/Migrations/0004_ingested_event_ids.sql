-- Event ids already stored, so a re-sent event is stored once across batches and days. Kept apart
-- from usage_events: a unique index on a table partitioned by time could only be unique per day.
-- event_time lets retention forget the ids of raw days it has dropped.
CREATE TABLE ingested_event_ids (
    event_id   text PRIMARY KEY,
    event_time timestamptz NOT NULL
);
CREATE INDEX ingested_event_ids_event_time ON ingested_event_ids (event_time);

-- Events that arrived for a day already aggregated: kept in usage_events, never folded into the
-- finished day's usage_stats, counted here per day so the operator can see them.
CREATE TABLE late_events (
    date        date PRIMARY KEY,
    event_count bigint NOT NULL,
    last_seen   timestamptz NOT NULL
);
