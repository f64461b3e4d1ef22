namespace AgentMeter.Aggregator.Metrics;

/// <summary>Section <c>Metrics</c>: the Prometheus exposition on <c>/metrics</c>.</summary>
public sealed class MetricsOptions
{
    /// <summary>Off: no real-time metrics are kept and <c>/metrics</c> is not served (for overhead comparisons).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Distinct values kept per label of each metric; further values are counted under <c>other</c>.</summary>
    public int MaxLabelValues { get; set; } = 500;

    /// <summary>
    /// Label combinations of all domain metrics together; further ones go to their metric's overflow
    /// series (data labels <c>other</c>) and are counted in <c>agentmeter_metrics_series_capped_total</c>.
    /// </summary>
    public int MaxSeries { get; set; } = 10_000;

    /// <summary>
    /// On: <c>/metrics</c> needs <c>Auth__MetricsToken</c> (a scrape token that reads nothing else) or
    /// the admin token. <c>/healthz</c> and <c>/readyz</c> stay open.
    /// </summary>
    public bool RequireToken { get; set; }
}
