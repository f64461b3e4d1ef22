using System.Text.Json;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;

namespace AgentMeter.Operator.Tenancy;

/// <summary>The tenant rule applied to Budgets (spend always has a tenant dimension, so a Budget can always be confined).</summary>
public sealed class BudgetTenancy(TenantRule rule)
{
    public TenantDecision Decide(Budget budget) =>
        rule.Decide(budget.Metadata.NamespaceProperty ?? "", budget.Spec.Filter?.TenantId, "spec.filter.tenantId", untenanted: null);

    /// <summary>The budget as handed to the aggregator (a copy carrying the namespace's tenant when confined), or null when refused.</summary>
    public Budget? HandOff(Budget budget)
    {
        var decision = Decide(budget);
        if (!decision.HandedOff) return null;
        if (decision.Verdict != TenantVerdict.Confined || budget.Spec.Filter?.TenantId == decision.Tenant) return budget;
        var copy = ResourceDocuments.ToJson(budget).Deserialize(EntityJson.Info<Budget>())!;
        copy.Spec.Filter ??= new AlertFilter();
        copy.Spec.Filter.TenantId = decision.Tenant;
        return copy;
    }
}
