-- Latency histograms: the fixed buckets every table with a mergeable histogram shares, building a
-- group's histogram, merging histograms and reading quantiles back. Used by the daily aggregation,
-- the monthly rollup and the analytics queries that need a p95 over several days or months, which
-- cannot be computed from per-day p95 values.

-- Fixed log-scale latency buckets: bucket 0 holds [0, 1) ms, bucket i >= 1 holds [1.25^(i-1), 1.25^i) ms,
-- capped at bucket 99. Any quantile read back from merged buckets is within 12.5 % of the exact value
-- (bucket midpoint). NaN and infinities fall in the top bucket instead of failing the integer cast.
CREATE OR REPLACE FUNCTION agentmeter_latency_bucket(ms double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ms IS NULL OR ms < 1 THEN 0 ELSE least(1 + floor(ln(least(ms, 1e10)) / ln(1.25))::integer, 99) END $$;

-- Counts per agentmeter_latency_bucket from the bucket of every call of a group: element i (1-based)
-- counts bucket i-1; the array ends at the highest bucket used (no trailing zeros). A bucket's count
-- saturates at the largest integer.
CREATE OR REPLACE FUNCTION agentmeter_latency_histogram(buckets integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(coalesce(c.n, 0) ORDER BY i)
    FROM generate_series(0, (SELECT max(b) FROM unnest(buckets) b)) i
    LEFT JOIN (SELECT b, least(count(*), 2147483647)::integer AS n FROM unnest(buckets) b GROUP BY b) c ON c.b = i $$;

-- A merged histogram (bigint[], agentmeter_histogram_merge) stored as integer[] (usage_stats_monthly):
-- each count saturates at the largest integer instead of failing the cast.
CREATE OR REPLACE FUNCTION agentmeter_histogram_saturated(h bigint[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(least(coalesce(v, 0), 2147483647)::integer ORDER BY i), '{}') FROM unnest(h) WITH ORDINALITY x(v, i) $$;

-- Elementwise sum; arrays of different lengths (trailing zeros are cut) are padded with zeros.
-- PL/pgSQL so the state array is updated in place instead of rebuilt for every row.
CREATE OR REPLACE FUNCTION agentmeter_histogram_add(state bigint[], h bigint[]) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF h IS NULL THEN RETURN state; END IF;
    IF state IS NULL THEN RETURN h; END IF;
    FOR i IN 1 .. coalesce(array_length(h, 1), 0) LOOP
        state[i] := coalesce(state[i], 0) + h[i];
    END LOOP;
    RETURN state;
END $$;

-- agentmeter_histogram_merge(latency_histogram): the elementwise sum of the histograms of a group,
-- as bigint[] so sums over many rows cannot overflow.
CREATE OR REPLACE AGGREGATE agentmeter_histogram_merge(bigint[]) (
    SFUNC = agentmeter_histogram_add,
    STYPE = bigint[],
    COMBINEFUNC = agentmeter_histogram_add,
    PARALLEL = SAFE
);

-- The q-quantile (0..1) of a histogram, defined like percentile_cont: the value at rank
-- q * (n - 1), interpolated between the two neighbouring order statistics. Each order statistic is
-- replaced by the midpoint of its bucket (0.5 ms for bucket 0, 1.125 * 1.25^(i-1) ms for bucket i),
-- which is within 12.5 % of any value >= 1 ms in the bucket and within 0.5 ms of any value below
-- 1 ms; interpolating both the same way keeps |result - exact percentile_cont| <= 0.125 * exact
-- + 0.5 ms. Values in the last bucket (99, >= 1.25^98 ms, i.e. > 36 days) have no upper bound.
-- NULL for an empty histogram.
CREATE OR REPLACE FUNCTION agentmeter_histogram_quantile(h bigint[], q double precision) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    n       bigint := 0;
    rank    double precision;
    lo_rank bigint;
    hi_rank bigint;
    lo_mid  double precision;
    hi_mid  double precision;
    seen    bigint := 0;
    mid     double precision;
BEGIN
    IF q IS NULL OR q < 0 OR q > 1 THEN
        RAISE EXCEPTION 'agentmeter_histogram_quantile: q must be between 0 and 1, got %', q;
    END IF;
    FOR i IN 1 .. coalesce(array_length(h, 1), 0) LOOP
        n := n + coalesce(h[i], 0);
    END LOOP;
    IF n = 0 THEN RETURN NULL; END IF;
    rank := q * (n - 1);
    lo_rank := floor(rank);
    hi_rank := ceil(rank);
    -- Array element i is bucket i - 1; walk the cumulative counts until both ranks are placed.
    FOR i IN 1 .. array_length(h, 1) LOOP
        CONTINUE WHEN coalesce(h[i], 0) = 0;
        mid := CASE WHEN i = 1 THEN 0.5 ELSE 1.125 * power(1.25::double precision, i - 2) END;
        seen := seen + h[i];
        IF lo_mid IS NULL AND lo_rank < seen THEN lo_mid := mid; END IF;
        IF hi_rank < seen THEN hi_mid := mid; EXIT; END IF;
    END LOOP;
    RETURN lo_mid + (rank - lo_rank) * (hi_mid - lo_mid);
END $$;
