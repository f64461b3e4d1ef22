namespace AgentMeter.Aggregator.Alerts;

/// <summary>
/// Quantiles from the shared log-scale latency buckets (agentmeter_latency_bucket in 0001_core.sql:
/// bucket 0 = [0, 1) ms, bucket i = [1.25^(i-1), 1.25^i) ms). The bucket midpoint is returned, so a
/// p95 merged over days is within 12.5 % of the exact value.
/// </summary>
public static class LatencyHistogram
{
    public const int Buckets = 100;

    public static double? Quantile(long[] counts, double q)
    {
        var total = counts.Sum();
        if (total == 0) return null;
        var rank = (long)Math.Ceiling(q * total);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank) return Midpoint(i);
        }
        return Midpoint(counts.Length - 1);
    }

    private static double Midpoint(int bucket) =>
        bucket == 0 ? 0.5 : (Math.Pow(1.25, bucket - 1) + Math.Pow(1.25, bucket)) / 2;
}
