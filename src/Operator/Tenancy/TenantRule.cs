using AgentMeter.Operator.Configuration;

namespace AgentMeter.Operator.Tenancy;

/// <summary>What the operator does with a resource that can filter by tenant.</summary>
public enum TenantVerdict
{
    /// <summary>Handed to the aggregator as written (tenancy off, or a cluster-wide namespace).</summary>
    AsWritten,
    /// <summary>Handed to the aggregator confined to <see cref="TenantDecision.Tenant"/>, the tenant of its namespace.</summary>
    Confined,
    /// <summary>Not handed to the aggregator: <c>Ready=False</c>, reason <c>TenantNotAllowed</c>.</summary>
    Refused,
}

public sealed record TenantDecision(TenantVerdict Verdict, string? Tenant, string Message)
{
    public bool HandedOff => Verdict != TenantVerdict.Refused;
}

/// <summary>
/// The namespace → tenant binding, enforced for every kind that filters by tenant (UsageAlert now; any later kind
/// with the same filter calls <see cref="Decide"/> with its own field). A namespace labelled
/// <c>agentmeter.io/tenant: T</c> holds resources of tenant T only: naming another tenant is refused, naming none
/// confines the resource to T. Cluster-wide resources (no tenant, or a metric that has no tenant dimension) come
/// only from the operator's namespace and the configured cluster-wide namespaces. Anything else is refused.
/// </summary>
public sealed class TenantRule(TenancyOptions options, string operatorNamespace, Func<string, IDictionary<string, string>?> namespaceLabels)
{
    public const string TenantLabel = "agentmeter.io/tenant";
    public const string ReasonNotAllowed = "TenantNotAllowed";

    /// <summary>Decides for a resource in <paramref name="ns"/>.</summary>
    /// <param name="tenant">the tenant the resource names (its filter), or null</param>
    /// <param name="field">where it names it, e.g. <c>spec.filter.tenantId</c></param>
    /// <param name="untenanted">why the resource cannot be confined to one tenant (it measures something no tenant owns), or null</param>
    public TenantDecision Decide(string ns, string? tenant, string field, string? untenanted)
    {
        if (!options.Enforce) return new(TenantVerdict.AsWritten, tenant, "tenancy is not enforced (Operator__Tenancy__Enforce=false)");
        if (ns == operatorNamespace || options.ClusterWideNamespaces.Contains(ns))
            return new(TenantVerdict.AsWritten, tenant, $"namespace {ns} is a cluster-wide namespace");
        var bound = namespaceLabels(ns)?.TryGetValue(TenantLabel, out var value) == true && value.Length > 0 ? value : null;
        if (bound is null)
            return Refused($"namespace {ns} is not bound to a tenant and is not a cluster-wide namespace: label it " +
                           $"(kubectl label namespace {ns} {TenantLabel}=<tenant>) or add it to the cluster-wide namespaces (tenancy.clusterWideNamespaces)");
        if (untenanted is not null)
            return Refused($"{untenanted}, so it is cluster-wide, and namespace {ns} is bound to tenant \"{bound}\": create it in a cluster-wide namespace");
        if (tenant is not null && tenant != bound)
            return Refused($"{field} is \"{tenant}\" but namespace {ns} is bound to tenant \"{bound}\" (label {TenantLabel})");
        return new(TenantVerdict.Confined, bound, tenant is null
            ? $"confined to tenant \"{bound}\", the tenant of namespace {ns}"
            : $"tenant \"{bound}\" is the tenant of namespace {ns}");
    }

    private static TenantDecision Refused(string message) => new(TenantVerdict.Refused, null, message);
}
