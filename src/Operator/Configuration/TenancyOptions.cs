namespace AgentMeter.Operator.Configuration;

/// <summary>Section <c>Operator:Tenancy</c>: which namespaces may hold resources for which tenant (docs/operator.md, "Tenants").</summary>
public sealed class TenancyOptions
{
    /// <summary>On (the default): a namespace holds resources of its tenant only. Off: resources are taken as written (one team per cluster).</summary>
    public bool Enforce { get; set; } = true;
    /// <summary>Namespaces whose resources may be cluster-wide or name any tenant; the operator's own namespace always may.</summary>
    public List<string> ClusterWideNamespaces { get; set; } = [];
}
