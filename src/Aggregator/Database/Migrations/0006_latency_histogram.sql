-- Counts per agentmeter_latency_bucket from the bucket of every call of a group:
-- element i (1-based) counts bucket i-1; the array ends at the highest bucket used (no trailing zeros).
CREATE FUNCTION agentmeter_latency_histogram(buckets integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(coalesce(c.n, 0) ORDER BY i)
    FROM generate_series(0, (SELECT max(b) FROM unnest(buckets) b)) i
    LEFT JOIN (SELECT b, count(*)::integer AS n FROM unnest(buckets) b GROUP BY b) c ON c.b = i $$;
