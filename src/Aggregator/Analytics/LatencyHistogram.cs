namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// Quantiles from merged agentmeter_latency_bucket histograms (element k of the array, 1-based,
/// counts bucket k-1): bucket 0 is [0, 1) ms, bucket i ≥ 1 is [1.25^(i-1), 1.25^i) ms. The value
/// read back is the bucket's midpoint, within 12.5 % of the exact quantile.
/// </summary>
public static class LatencyHistogram
{
    public static double? Quantile(IReadOnlyDictionary<int, long> countsByBucket, double q)
    {
        var total = countsByBucket.Values.Sum();
        if (total == 0) return null;
        var rank = (long)Math.Ceiling(q * total);
        long seen = 0;
        foreach (var (bucket, count) in countsByBucket.OrderBy(kv => kv.Key))
        {
            seen += count;
            if (seen >= rank) return Midpoint(bucket);
        }
        return Midpoint(countsByBucket.Keys.Max());
    }

    public static double Midpoint(int bucket) =>
        bucket == 0 ? 0.5 : (Math.Pow(1.25, bucket - 1) + Math.Pow(1.25, bucket)) / 2;
}
