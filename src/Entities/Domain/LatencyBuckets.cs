namespace AgentMeter.Entities.Domain;

/// <summary>
/// The shared log-scale latency buckets (agentmeter_latency_bucket in SQL): bucket 0 is [0, 1) ms, bucket
/// i ≥ 1 is [1.25^(i-1), 1.25^i) ms, <see cref="Count"/> of them. A quantile read back is its bucket's
/// midpoint, so a p95 merged over days is within 12.5 % of the exact value.
/// </summary>
public static class LatencyBuckets
{
    public const int Count = 100;

    /// <summary>From counts per bucket (element i counts bucket i).</summary>
    public static double? Quantile(long[] counts, double q) => Quantile(counts.Select((count, bucket) => (bucket, count)).ToList(), q);

    /// <summary>From a sparse histogram: the buckets that have calls, with their counts.</summary>
    public static double? Quantile(IReadOnlyDictionary<int, long> countsByBucket, double q) =>
        Quantile(countsByBucket.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)).ToList(), q);

    public static double Midpoint(int bucket) =>
        bucket == 0 ? 0.5 : (Math.Pow(1.25, bucket - 1) + Math.Pow(1.25, bucket)) / 2;

    private static double? Quantile(List<(int Bucket, long Count)> ascending, double q)
    {
        var total = ascending.Sum(b => b.Count);
        if (total == 0) return null;
        var rank = (long)Math.Ceiling(q * total);
        long seen = 0;
        foreach (var (bucket, count) in ascending)
        {
            seen += count;
            if (seen >= rank) return Midpoint(bucket);
        }
        return Midpoint(ascending[^1].Bucket);
    }
}
