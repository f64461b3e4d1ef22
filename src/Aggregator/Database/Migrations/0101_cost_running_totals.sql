-- Running totals within each month of the priced rows of usage_stats_by_dimension, per (dimension,
-- tenant, key, currency): element i of each array is the sum over days 1..i of the month. The costs
-- endpoint then sums any range of days of a group with two array look-ups per month instead of
-- reading every day's row (~15,000 rows for 500 agents over 30 days: docs/benchmarks.md §Costs API).
-- Kept in step with usage_stats_by_dimension by statement triggers, whoever writes it (the daily
-- rollup, retention's deletes, a test's update), so it never disagrees with the daily rows.
CREATE TABLE usage_stats_cost_running (
    dimension     text NOT NULL,
    month         date NOT NULL CHECK (extract(day FROM month) = 1),
    tenant_id     text NOT NULL,
    key           text NOT NULL,
    currency      text NOT NULL CHECK (currency <> ''),
    stats_rows    bigint[] NOT NULL,   -- daily rollup rows: a group or a day is listed only where it has one
    cost          numeric[] NOT NULL,
    calls         bigint[] NOT NULL,
    input_tokens  bigint[] NOT NULL,
    output_tokens bigint[] NOT NULL,
    PRIMARY KEY (dimension, month, tenant_id, key, currency)
) WITH (fillfactor = 70);  -- rewritten once per aggregated day: room for HOT updates
-- Never compressed nor moved out of line (a row stays under 4 kB): the costs query reads five
-- elements of every array of hundreds of rows per request, and decompressing them would cost more.
ALTER TABLE usage_stats_cost_running ALTER stats_rows SET STORAGE PLAIN, ALTER cost SET STORAGE PLAIN,
    ALTER calls SET STORAGE PLAIN, ALTER input_tokens SET STORAGE PLAIN, ALTER output_tokens SET STORAGE PLAIN;

-- Element-wise sum of two arrays of the same length.
CREATE FUNCTION agentmeter_array_add(a anycompatiblearray, b anycompatiblearray) RETURNS anycompatiblearray
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY u(x, y, i) $$;

-- The statement that adds the rows of `changed` (a query with the columns of
-- usage_stats_by_dimension and a leading `sign`: 1 added, -1 removed) to the running totals. Each
-- changed day adds to its own element and every later one of its month. Returned as text, since
-- a trigger's transition tables are visible only to statements the trigger function runs itself.
CREATE FUNCTION agentmeter_cost_running_sql(changed text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT format($q$
        WITH delta AS (
            SELECT dimension, date_trunc('month', date)::date AS month, tenant_id, key, currency,
                   extract(day FROM date)::integer AS day, sign, estimated_cost, call_count,
                   estimated_input_tokens, estimated_output_tokens
            FROM (%s) c WHERE currency <> ''),
        running AS (
            SELECT dimension, month, tenant_id, key, currency, i,
                   coalesce(sum(sign) FILTER (WHERE day <= i), 0)::bigint AS stats_rows,
                   coalesce(sum(sign * estimated_cost) FILTER (WHERE day <= i), 0) AS cost,
                   coalesce(sum(sign * call_count) FILTER (WHERE day <= i), 0)::bigint AS calls,
                   coalesce(sum(sign * estimated_input_tokens) FILTER (WHERE day <= i), 0)::bigint AS input_tokens,
                   coalesce(sum(sign * estimated_output_tokens) FILTER (WHERE day <= i), 0)::bigint AS output_tokens
            FROM delta, generate_series(1, extract(day FROM month + interval '1 month - 1 day')::integer) i
            GROUP BY 1, 2, 3, 4, 5, 6)
        INSERT INTO usage_stats_cost_running AS r (dimension, month, tenant_id, key, currency, stats_rows, cost, calls,
            input_tokens, output_tokens)
        SELECT dimension, month, tenant_id, key, currency, array_agg(stats_rows ORDER BY i), array_agg(cost ORDER BY i),
               array_agg(calls ORDER BY i), array_agg(input_tokens ORDER BY i), array_agg(output_tokens ORDER BY i)
        FROM running GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (dimension, month, tenant_id, key, currency) DO UPDATE SET
            stats_rows = agentmeter_array_add(r.stats_rows, excluded.stats_rows),
            cost = agentmeter_array_add(r.cost, excluded.cost),
            calls = agentmeter_array_add(r.calls, excluded.calls),
            input_tokens = agentmeter_array_add(r.input_tokens, excluded.input_tokens),
            output_tokens = agentmeter_array_add(r.output_tokens, excluded.output_tokens)
        $q$, changed) $fn$;

CREATE FUNCTION agentmeter_cost_running_sync() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE agentmeter_cost_running_sql(CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_rows'
        ELSE 'SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows' END);
    RETURN NULL;
END $fn$;

-- A trigger with transition tables handles one event: one each.
CREATE TRIGGER cost_running_insert AFTER INSERT ON usage_stats_by_dimension
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION agentmeter_cost_running_sync();
CREATE TRIGGER cost_running_update AFTER UPDATE ON usage_stats_by_dimension
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION agentmeter_cost_running_sync();
CREATE TRIGGER cost_running_delete AFTER DELETE ON usage_stats_by_dimension
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION agentmeter_cost_running_sync();
-- TRUNCATE fires no delete trigger.
CREATE FUNCTION agentmeter_cost_running_clear() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    TRUNCATE usage_stats_cost_running;
    RETURN NULL;
END $fn$;
CREATE TRIGGER cost_running_truncate AFTER TRUNCATE ON usage_stats_by_dimension
    FOR EACH STATEMENT EXECUTE FUNCTION agentmeter_cost_running_clear();

DO $$ BEGIN EXECUTE agentmeter_cost_running_sql('SELECT 1 AS sign, * FROM usage_stats_by_dimension'); END $$;
