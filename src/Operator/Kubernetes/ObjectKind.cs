namespace AgentMeter.Operator.Kubernetes;

/// <summary>API coordinates of a kind the operator reads or writes.</summary>
public sealed record ObjectKind(string Group, string Version, string Kind, string Plural, bool Namespaced = true)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";
    /// <summary>The URL path of the collection across all namespaces, e.g. <c>apis/agentmeter.io/v1alpha1/usagealerts</c>.</summary>
    public string CollectionPath => $"{GroupVersionPath}/{Plural}";

    /// <summary>The URL path of the collection in <paramref name="ns"/>, or across the cluster for a cluster-scoped kind (null).</summary>
    public string CollectionIn(string? ns) => ns is null ? CollectionPath : $"{GroupVersionPath}/namespaces/{Uri.EscapeDataString(ns)}/{Plural}";

    /// <summary>The URL path of one object, e.g. <c>api/v1/namespaces/team-a/configmaps/agentmeter-config</c>.</summary>
    public string ObjectPath(string? ns, string name) => $"{CollectionIn(ns)}/{Uri.EscapeDataString(name)}";

    private string GroupVersionPath => Group.Length == 0 ? $"api/{Version}" : $"apis/{Group}/{Version}";

    public static readonly ObjectKind Deployment = new("apps", "v1", "Deployment", "deployments");
    public static readonly ObjectKind Service = new("", "v1", "Service", "services");
    public static readonly ObjectKind ConfigMap = new("", "v1", "ConfigMap", "configmaps");
    public static readonly ObjectKind Secret = new("", "v1", "Secret", "secrets");
    public static readonly ObjectKind ServiceMonitor = new("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors");
    public static readonly ObjectKind PrometheusRule = new("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules");
    public static readonly ObjectKind Namespace = new("", "v1", "Namespace", "namespaces", Namespaced: false);
    public static readonly ObjectKind Lease = new("coordination.k8s.io", "v1", "Lease", "leases");
    public static readonly ObjectKind Event = new("", "v1", "Event", "events");

    /// <summary>One of the agentmeter.io kinds.</summary>
    public static ObjectKind Resource(string kind, string plural) =>
        new(Entities.Resources.CostRate.Group, Entities.Resources.CostRate.Version, kind, plural);
}
