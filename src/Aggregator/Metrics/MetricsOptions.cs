namespace AgentMeter.Aggregator.Metrics;

/// <summary>Section <c>Metrics</c>: the Prometheus exposition on <c>/metrics</c>.</summary>
public sealed class MetricsOptions
{
    /// <summary>Off: no real-time metrics are kept and <c>/metrics</c> is not served (for overhead comparisons).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Distinct values kept per label of each metric; further values are counted under <c>other</c>.</summary>
    public int MaxLabelValues { get; set; } = 500;
}
