-- Running totals within each month of the priced rows of usage_stats_by_dimension, per (dimension,
-- tenant, key, currency): element i of each array is the sum over days 1..i of the month. The costs
-- endpoint then sums any range of days of a group with two array look-ups per month instead of
-- reading every day's row (~15,000 rows for 500 agents over 30 days: docs/benchmarks.md §Costs API).
-- Kept in step with usage_stats_by_dimension by the statement triggers of
-- Definitions/60_cost_running_totals.sql.
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
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
        autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);
-- Each aggregated day rewrites the rows of its month (room left for HOT updates); vacuumed and
-- analysed after each day, as usage_stats_by_dimension is, so the rows stay packed.
-- Never compressed nor moved out of line (a row stays under 4 kB): the costs query reads ten
-- elements of hundreds of rows per request, and decompressing every array would cost more.
ALTER TABLE usage_stats_cost_running ALTER stats_rows SET STORAGE PLAIN, ALTER cost SET STORAGE PLAIN,
    ALTER calls SET STORAGE PLAIN, ALTER input_tokens SET STORAGE PLAIN, ALTER output_tokens SET STORAGE PLAIN;
