namespace AgentMeter.Operator.Configuration;

/// <summary>Section <c>Monitoring</c>: extra labels Prometheus selectors need (e.g. kube-prometheus-stack's <c>release</c>).</summary>
public sealed class MonitoringOptions
{
    public Dictionary<string, string> RuleLabels { get; set; } = [];
    public Dictionary<string, string> ServiceMonitorLabels { get; set; } = [];
    /// <summary>
    /// The aggregator's /metrics asks for a bearer token (key <c>metrics-token</c> of the auth Secret), and the
    /// ServiceMonitor carries it.
    /// </summary>
    public bool RequireMetricsToken { get; set; }
}
