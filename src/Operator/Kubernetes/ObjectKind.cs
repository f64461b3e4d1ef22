namespace AgentMeter.Operator.Kubernetes;

/// <summary>API coordinates of a kind the operator writes.</summary>
public sealed record ObjectKind(string Group, string Version, string Kind, string Plural, bool Namespaced = true)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";
    /// <summary>The URL path of the collection across all namespaces, e.g. <c>apis/agentmeter.io/v1alpha1/usagealerts</c>.</summary>
    public string CollectionPath => Group.Length == 0 ? $"api/{Version}/{Plural}" : $"apis/{Group}/{Version}/{Plural}";

    public static readonly ObjectKind Deployment = new("apps", "v1", "Deployment", "deployments");
    public static readonly ObjectKind Service = new("", "v1", "Service", "services");
    public static readonly ObjectKind ConfigMap = new("", "v1", "ConfigMap", "configmaps");
    public static readonly ObjectKind Secret = new("", "v1", "Secret", "secrets");
    public static readonly ObjectKind ServiceMonitor = new("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors");
    public static readonly ObjectKind PrometheusRule = new("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules");
    public static readonly ObjectKind Namespace = new("", "v1", "Namespace", "namespaces", Namespaced: false);

    /// <summary>One of the agentmeter.io kinds.</summary>
    public static ObjectKind Resource(string kind, string plural) =>
        new(Entities.Resources.CostRate.Group, Entities.Resources.CostRate.Version, kind, plural);
}
