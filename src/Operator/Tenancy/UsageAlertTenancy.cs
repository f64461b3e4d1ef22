using System.Text.Json;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;

namespace AgentMeter.Operator.Tenancy;

/// <summary>The tenant rule applied to UsageAlerts: what is decided, and the alert as the aggregator gets it.</summary>
public sealed class UsageAlertTenancy(TenantRule rule)
{
    public TenantRule Rule => rule;

    /// <summary>
    /// circuitBreakerOpen and webhookFailureRate measure shared things (MCP servers, the delivery of every tenant's
    /// alerts): they cannot be confined to a tenant, so they are cluster-wide alerts.
    /// </summary>
    public static string? Untenanted(UsageAlert alert) =>
        alert.Spec.Metric is AlertMetrics.CircuitBreakerOpen or AlertMetrics.WebhookFailureRate
            ? $"metric {alert.Spec.Metric} has no tenant dimension"
            : null;

    public TenantDecision Decide(UsageAlert alert) =>
        rule.Decide(alert.Metadata.NamespaceProperty ?? "", alert.Spec.Filter?.TenantId, "spec.filter.tenantId", Untenanted(alert));

    /// <summary>The alert as handed to the aggregator (a copy carrying the namespace's tenant when confined), or null when refused.</summary>
    public UsageAlert? HandOff(UsageAlert alert)
    {
        var decision = Decide(alert);
        if (!decision.HandedOff) return null;
        if (decision.Verdict != TenantVerdict.Confined || alert.Spec.Filter?.TenantId == decision.Tenant) return alert;
        var copy = ResourceDocuments.ToJson(alert).Deserialize(EntityJson.Info<UsageAlert>())!;
        copy.Spec.Filter ??= new AlertFilter();
        copy.Spec.Filter.TenantId = decision.Tenant;
        return copy;
    }
}
