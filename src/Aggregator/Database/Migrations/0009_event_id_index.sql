-- A re-sent event is the same (event_id, time) again. Checking that with a unique index on the
-- events themselves (one per day partition, created with it and dropped with it) replaces the
-- separate ingested_event_ids table: no second row per event, no extra statement per batch, no
-- pruning job. Time first: a gateway's events arrive roughly in time order, so the index grows at
-- its right edge. Events without an id are not indexed.
CREATE UNIQUE INDEX usage_events_event_id ON usage_events (time, event_id) WHERE event_id IS NOT NULL;
DROP TABLE ingested_event_ids;
