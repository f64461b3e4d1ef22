-- Cost running totals: usage_stats_cost_running (migration 0101) kept in step with
-- usage_stats_by_dimension by statement triggers, whoever writes it (the daily rollup, retention's
-- deletes, a test's update), so it never disagrees with the daily rows. Read by the costs endpoint
-- (Costs/CostRunningTotals).

-- The statement that adds one day's rows of `changed` (a query with the columns of
-- usage_stats_by_dimension and a leading `sign`: 1 added, -1 removed; the day is $1) to the running
-- totals: the day's element and every later one of its month grow by the day's sums. Returned as
-- text, since a trigger's transition tables are visible only to statements the trigger function
-- runs itself.
CREATE OR REPLACE FUNCTION agentmeter_cost_running_sql(changed text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT format($q$
        WITH delta AS (
            SELECT dimension, date_trunc('month', date)::date AS month, tenant_id, key, currency, sum(sign) AS stats_rows,
                   sum(sign * estimated_cost) AS cost, sum(sign * call_count) AS calls,
                   sum(sign * estimated_input_tokens) AS input_tokens, sum(sign * estimated_output_tokens) AS output_tokens
            FROM (%s) c WHERE date = $1 AND currency <> '' GROUP BY 1, 2, 3, 4, 5)
        INSERT INTO usage_stats_cost_running AS r (dimension, month, tenant_id, key, currency, stats_rows, cost, calls,
            input_tokens, output_tokens)
        SELECT dimension, month, tenant_id, key, currency,
               coalesce(r.stats_rows[1:day - 1], array_fill(0::bigint, ARRAY[day - 1]))
                   || ARRAY(SELECT coalesce(r.stats_rows[i], 0) + d.stats_rows FROM generate_series(day, days) i),
               coalesce(r.cost[1:day - 1], array_fill(0::numeric, ARRAY[day - 1]))
                   || ARRAY(SELECT coalesce(r.cost[i], 0) + d.cost FROM generate_series(day, days) i),
               coalesce(r.calls[1:day - 1], array_fill(0::bigint, ARRAY[day - 1]))
                   || ARRAY(SELECT coalesce(r.calls[i], 0) + d.calls FROM generate_series(day, days) i),
               coalesce(r.input_tokens[1:day - 1], array_fill(0::bigint, ARRAY[day - 1]))
                   || ARRAY(SELECT coalesce(r.input_tokens[i], 0) + d.input_tokens FROM generate_series(day, days) i),
               coalesce(r.output_tokens[1:day - 1], array_fill(0::bigint, ARRAY[day - 1]))
                   || ARRAY(SELECT coalesce(r.output_tokens[i], 0) + d.output_tokens FROM generate_series(day, days) i)
        FROM delta d LEFT JOIN usage_stats_cost_running r USING (dimension, month, tenant_id, key, currency),
             LATERAL (SELECT extract(day FROM $1)::integer AS day,
                             extract(day FROM month + interval '1 month - 1 day')::integer AS days) b
        ON CONFLICT (dimension, month, tenant_id, key, currency) DO UPDATE SET
            stats_rows = excluded.stats_rows, cost = excluded.cost, calls = excluded.calls,
            input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens
        $q$, changed) $fn$;

-- Applies the changed rows one day at a time. Writers of usage_stats_by_dimension (the day's
-- aggregation, retention) are serialised until they commit, so none overwrites another's running
-- totals. No JIT: compiling costs more than these statements of a few thousand rows.
CREATE OR REPLACE FUNCTION agentmeter_cost_running_sync() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $fn$
DECLARE
    changed text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_rows'
        ELSE 'SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows' END;
    day date;
BEGIN
    PERFORM pg_advisory_xact_lock(1095191815);  -- AdvisoryLocks.CostRunningTotals
    FOR day IN EXECUTE format('SELECT DISTINCT date FROM (%s) c', changed) LOOP
        EXECUTE agentmeter_cost_running_sql(changed) USING day;
    END LOOP;
    -- A group with no daily row left in a month (retention deleted its days) has nothing to add.
    IF TG_OP = 'DELETE' THEN
        DELETE FROM usage_stats_cost_running r
        USING (SELECT DISTINCT dimension, date_trunc('month', date)::date AS month FROM old_rows) m
        WHERE r.dimension = m.dimension AND r.month = m.month AND r.stats_rows[cardinality(r.stats_rows)] = 0;
    END IF;
    RETURN NULL;
END $fn$;

-- A trigger with transition tables handles one event: one each.
CREATE OR REPLACE TRIGGER cost_running_insert AFTER INSERT ON usage_stats_by_dimension
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION agentmeter_cost_running_sync();
CREATE OR REPLACE TRIGGER cost_running_update AFTER UPDATE ON usage_stats_by_dimension
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION agentmeter_cost_running_sync();
CREATE OR REPLACE TRIGGER cost_running_delete AFTER DELETE ON usage_stats_by_dimension
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION agentmeter_cost_running_sync();
-- TRUNCATE fires no delete trigger.
CREATE OR REPLACE FUNCTION agentmeter_cost_running_clear() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    TRUNCATE usage_stats_cost_running;
    RETURN NULL;
END $fn$;
CREATE OR REPLACE TRIGGER cost_running_truncate AFTER TRUNCATE ON usage_stats_by_dimension
    FOR EACH STATEMENT EXECUTE FUNCTION agentmeter_cost_running_clear();
