namespace AgentMeter.Aggregator.Resources;

public sealed class ResourceOptions
{
    /// <summary>Files or folders given with --resources (repeatable).</summary>
    public List<string> Paths { get; set; } = [];
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// <c>Resources__Namespace</c>: the namespace whose hand-off ConfigMaps and Secrets (label <c>agentmeter.io/hand-off</c>)
    /// the aggregator list/watches, read-only; empty: files only. In the cluster the operator sets it to the pod's namespace.
    /// </summary>
    public string Namespace { get; set; } = "";
    /// <summary><c>Resources__Kubeconfig</c>: a kubeconfig file to reach the API server with (tests, out of cluster); empty: in-cluster.</summary>
    public string Kubeconfig { get; set; } = "";
    /// <summary>Process settings validation depends on (the PagerDuty hosts of <c>Webhooks__PagerDutyHosts</c>).</summary>
    public Entities.Validation.ResourceRules Rules { get; set; } = Entities.Validation.ResourceRules.Default;
}
