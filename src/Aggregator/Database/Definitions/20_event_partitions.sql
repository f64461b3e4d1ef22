-- Raw events are partitioned by UTC day (usage_events, migration 0001). Partitions are made on demand
-- by whoever writes a day (agentmeter_ensure_event_partition) and dropped whole by retention.

CREATE OR REPLACE FUNCTION agentmeter_event_partition_name(day date) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'usage_events_' || to_char(day, 'YYYYMMDD') $$;

-- Day partitions made without an ACCESS EXCLUSIVE lock on usage_events. CREATE TABLE … PARTITION OF
-- takes one: queued behind a long reader (a report, a dump), it made every later insert queue behind
-- it too, existing days included. A table made on its own and then attached takes SHARE UPDATE
-- EXCLUSIVE on the parent, which readers and inserts do not conflict with (PostgreSQL 12 and later);
-- it still waits for DDL, VACUUM or ANALYZE of the parent, so the wait is bounded (lock_timeout) and
-- the caller retries. The new table is empty: attaching it scans nothing, and its indexes (the
-- duplicate check's) are made as it is attached.
CREATE OR REPLACE FUNCTION agentmeter_ensure_event_partition(day date) RETURNS void
    LANGUAGE plpgsql
    SET lock_timeout = '2s'
AS $$
DECLARE
    name text := agentmeter_event_partition_name(day);
BEGIN
    IF to_regclass(name) IS NOT NULL THEN RETURN; END IF;
    -- Two sessions making the same day take turns. The second may not see the first's table yet (an
    -- advisory lock does not refresh the catalog cache): its CREATE then finds the name taken, by a
    -- table the first made and attached in one transaction.
    PERFORM pg_advisory_xact_lock(hashtext('agentmeter_event_partition'), day - date '2000-01-01');
    EXECUTE format('CREATE TABLE %I (LIKE usage_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name,
        (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
EXCEPTION
    WHEN duplicate_table THEN NULL;
END $$;
