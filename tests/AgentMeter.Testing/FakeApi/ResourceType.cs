namespace AgentMeter.Testing.FakeApi;

/// <summary>A resource the fake API server serves, as discovery would describe it.</summary>
public sealed record ResourceType(string Group, string Version, string Plural, string Kind, bool Namespaced, bool StatusSubresource)
{
    public string GroupVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public static IReadOnlyList<ResourceType> Builtin { get; } =
    [
        new("agentmeter.io", "v1alpha1", "costrates", "CostRate", false, true),
        new("agentmeter.io", "v1alpha1", "usagealerts", "UsageAlert", true, true),
        new("agentmeter.io", "v1alpha1", "retentionpolicies", "RetentionPolicy", false, true),
        new("agentmeter.io", "v1alpha1", "budgets", "Budget", true, true),
        new("", "v1", "configmaps", "ConfigMap", true, false),
        new("", "v1", "secrets", "Secret", true, false),
        new("", "v1", "services", "Service", true, true),
        new("", "v1", "events", "Event", true, false),
        new("apps", "v1", "deployments", "Deployment", true, true),
        new("coordination.k8s.io", "v1", "leases", "Lease", true, false),
        new("", "v1", "namespaces", "Namespace", false, true),
    ];

    public static IReadOnlyList<ResourceType> Monitoring { get; } =
    [
        new("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", true, false),
        new("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", true, false),
    ];
}

/// <summary>One request the fake served: enough to count writes and to check RBAC (verb on group/resource[/subresource]).</summary>
public sealed record RecordedRequest(string Method, string Verb, string Group, string Resource, string? Namespace, string? Name, string? FieldManager, string? ContentType, int Status, bool FromTest = false, string? User = null)
{
    public bool IsWrite => Verb is "create" or "update" or "patch" or "delete";
}
