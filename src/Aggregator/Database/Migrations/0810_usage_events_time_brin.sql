-- Alert evaluation reads small time ranges of today's raw events every cycle (the newest minutes, the
-- edges of each window, segments a late event changed); without an index on time each read scanned the
-- whole day. Events arrive roughly in time order, so a BRIN index (a few pages per day, next to nothing
-- on insert) narrows those reads to the blocks holding the range. Each day partition gets it as it is
-- attached.
CREATE INDEX usage_events_time_brin ON usage_events USING brin (time);
