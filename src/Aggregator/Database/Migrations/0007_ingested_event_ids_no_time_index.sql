-- The event_time index cost a second random B-tree insert per ingested id (~30 % of the
-- deduplication cost, measured); forgetting the ids of dropped days is a nightly job that can
-- afford a sequential scan of ingested_event_ids instead.
DROP INDEX IF EXISTS ingested_event_ids_event_time;
