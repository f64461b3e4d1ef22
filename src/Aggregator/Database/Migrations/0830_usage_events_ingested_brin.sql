-- Alert evaluation keeps grouped segments of raw events across cycles and must notice any event that
-- arrived for one since it was read, late ones included. Every event that a read did not see was
-- ingested at or after a watermark taken before that read (ingested_at is its transaction's start), so
-- a cycle asks only for the events ingested since: with a BRIN index on ingested_at (events are
-- appended in ingest order) that reads the newest blocks instead of the whole day.
-- A BRIN index only narrows reads to block ranges it has summarized, and ranges filled after the last
-- VACUUM are not: autosummarize has autovacuum summarize each range as it fills, so only the newest
-- range is read whole. Both BRIN indexes get it (the time index of 0810 is built again for that: a
-- partitioned index's options cannot be altered). Each day partition gets both as it is attached;
-- building them scans the partitions once.
DROP INDEX usage_events_time_brin;
CREATE INDEX usage_events_time_brin ON usage_events USING brin (time) WITH (autosummarize = on);
CREATE INDEX usage_events_ingested_brin ON usage_events USING brin (ingested_at) WITH (autosummarize = on);
