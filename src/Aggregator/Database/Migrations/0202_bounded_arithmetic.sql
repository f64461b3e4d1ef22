-- Arithmetic over stored events that cannot overflow, whatever an older version or an audit import
-- stored: bounds applied on read, per event, and saturating sums where a total is stored or read.
-- (One tool_call with request_bytes 2^63 − 1 made the day's aggregation fail with "bigint out of
-- range", two with latency_ms 1e308 with "value out of range: overflow".) docs/core.md, "Stored
-- values out of range", lists the bounds.

-- Per event: latency_ms within [0, 1e10] (about 116 days; NaN and infinities to the bound), byte
-- and token counts within [0, 2^40]. NULL stays NULL (no value is not a zero latency).
CREATE FUNCTION agentmeter_bounded_latency(ms double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ms IS NULL THEN NULL ELSE least(greatest(ms, 0), 1e10) END $$;

CREATE FUNCTION agentmeter_bounded_count(n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n IS NULL THEN NULL ELSE least(greatest(n, 0), 1099511627776) END $$;

-- True when any numeric field of an event lies outside those bounds (the aggregation counts such
-- events per day in aggregated_days.clamped_events and says so in its log).
CREATE FUNCTION agentmeter_out_of_bounds(latency_ms double precision, request_bytes bigint, response_bytes bigint,
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
CREATE FUNCTION agentmeter_bounded_total_latency(total double precision, calls bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN total IS NULL THEN NULL ELSE least(greatest(total, 0), greatest(calls, 0) * 1e10::double precision) END $$;

-- Sums. A per-day row (usage_stats, usage_stats_by_dimension) stores at most 2^56 in a bigint
-- column and 1e11 as a cost: 128 such rows of one group and month (days and their late-event
-- corrections) still fit the monthly rollup's bigint and numeric(24, 10) columns and the cost
-- running totals. A sum read back over any range saturates at the largest bigint. NULL stays NULL
-- (least() alone would turn it into the bound).
CREATE FUNCTION agentmeter_day_sum(total numeric) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN total IS NULL THEN NULL ELSE least(total, 72057594037927936)::bigint END $$;

CREATE FUNCTION agentmeter_day_cost(total numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN total IS NULL THEN NULL ELSE least(total, 100000000000) END $$;

CREATE FUNCTION agentmeter_bigint_sum(total numeric) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN total IS NULL THEN NULL ELSE least(total, 9223372036854775807)::bigint END $$;

-- Redefined (0001): NaN and infinities fall in the top bucket instead of failing the integer cast.
CREATE OR REPLACE FUNCTION agentmeter_latency_bucket(ms double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ms IS NULL OR ms < 1 THEN 0 ELSE least(1 + floor(ln(least(ms, 1e10)) / ln(1.25))::integer, 99) END $$;

-- Redefined (0006): a bucket's count saturates at the largest integer.
CREATE OR REPLACE FUNCTION agentmeter_latency_histogram(buckets integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(coalesce(c.n, 0) ORDER BY i)
    FROM generate_series(0, (SELECT max(b) FROM unnest(buckets) b)) i
    LEFT JOIN (SELECT b, least(count(*), 2147483647)::integer AS n FROM unnest(buckets) b GROUP BY b) c ON c.b = i $$;

-- A merged histogram (bigint[], agentmeter_histogram_merge) stored as integer[] (usage_stats_monthly):
-- each count saturates at the largest integer instead of failing the cast.
CREATE FUNCTION agentmeter_histogram_saturated(h bigint[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(least(coalesce(v, 0), 2147483647)::integer ORDER BY i), '{}') FROM unnest(h) WITH ORDINALITY x(v, i) $$;

-- Redefined (0010): the estimate reads bounded counts, so bytes + bytesPerToken − 1 cannot overflow.
CREATE OR REPLACE FUNCTION agentmeter_input_tokens(input_tokens bigint, request_bytes bigint, bytes_per_token integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(agentmeter_bounded_count(input_tokens),
                    (coalesce(agentmeter_bounded_count(request_bytes), 0) + coalesce(bytes_per_token, 4) - 1) / coalesce(bytes_per_token, 4)) $$;

CREATE OR REPLACE FUNCTION agentmeter_output_tokens(output_tokens bigint, response_bytes bigint, bytes_per_token integer, max_output_tokens bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(agentmeter_bounded_count(output_tokens),
                    least((coalesce(agentmeter_bounded_count(response_bytes), 0) + coalesce(bytes_per_token, 4) - 1) / coalesce(bytes_per_token, 4),
                          max_output_tokens)) $$;

-- Events of a day whose numeric fields were clamped when it was aggregated.
ALTER TABLE aggregated_days ADD COLUMN clamped_events bigint NOT NULL DEFAULT 0;
