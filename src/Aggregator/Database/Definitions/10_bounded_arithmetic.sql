-- Arithmetic over stored events that cannot overflow, whatever an older version or an audit import
-- stored: bounds applied on read, per event, and saturating sums where a total is stored or read.
-- (One tool_call with request_bytes 2^63 − 1 made the day's aggregation fail with "bigint out of
-- range", two with latency_ms 1e308 with "value out of range: overflow".) docs/core.md, "Stored
-- values out of range", lists the bounds.

-- Per event: latency_ms within [0, 1e10] (about 116 days; NaN and infinities to the bound), byte
-- and token counts within [0, 2^40]. NULL stays NULL (no value is not a zero latency).
CREATE OR REPLACE FUNCTION agentmeter_bounded_latency(ms double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ms IS NULL THEN NULL ELSE least(greatest(ms, 0), 1e10) END $$;

CREATE OR REPLACE FUNCTION agentmeter_bounded_count(n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n IS NULL THEN NULL ELSE least(greatest(n, 0), 1099511627776) END $$;

-- True when any numeric field of an event lies outside those bounds (the aggregation counts such
-- events per day in aggregated_days.clamped_events and says so in its log).
CREATE OR REPLACE FUNCTION agentmeter_out_of_bounds(latency_ms double precision, request_bytes bigint, response_bytes bigint,
                                         input_tokens bigint, output_tokens bigint, cached_input_tokens bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT latency_ms IS DISTINCT FROM agentmeter_bounded_latency(latency_ms)
        OR request_bytes IS DISTINCT FROM agentmeter_bounded_count(request_bytes)
        OR response_bytes IS DISTINCT FROM agentmeter_bounded_count(response_bytes)
        OR input_tokens IS DISTINCT FROM agentmeter_bounded_count(input_tokens)
        OR output_tokens IS DISTINCT FROM agentmeter_bounded_count(output_tokens)
        OR cached_input_tokens IS DISTINCT FROM agentmeter_bounded_count(cached_input_tokens) $$;

-- Per stored row: a total latency of at most 1e10 ms per call (rows written before these bounds
-- may hold up to 1.8e308, and two of them summed overflow).
CREATE OR REPLACE FUNCTION agentmeter_bounded_total_latency(total double precision, calls bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN total IS NULL THEN NULL ELSE least(greatest(total, 0), greatest(calls, 0) * 1e10::double precision) END $$;

-- Sums. A per-day row (usage_stats, usage_stats_by_dimension) stores at most 2^56 in a bigint
-- column and 1e11 as a cost: 128 such rows of one group and month (days and their late-event
-- corrections) still fit the monthly rollup's bigint and numeric(24, 10) columns and the cost
-- running totals. A sum read back over any range saturates at the largest bigint. NULL stays NULL
-- (least() alone would turn it into the bound).
CREATE OR REPLACE FUNCTION agentmeter_day_sum(total numeric) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN total IS NULL THEN NULL ELSE least(total, 72057594037927936)::bigint END $$;

CREATE OR REPLACE FUNCTION agentmeter_day_cost(total numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN total IS NULL THEN NULL ELSE least(total, 100000000000) END $$;

CREATE OR REPLACE FUNCTION agentmeter_bigint_sum(total numeric) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN total IS NULL THEN NULL ELSE least(total, 9223372036854775807)::bigint END $$;
