using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Tenancy;

namespace AgentMeter.Operator.Reconcile;

/// <summary>The aggregator workload: ConfigMap of all resources, webhook Secret, Deployment, Service, ServiceMonitor.</summary>
public sealed class WorkloadReconciler(
    ObjectApi api, Renderer renderer, Applier applier, DiscoveryCache discovery,
    Informer<CostRate> costRates, Informer<UsageAlert> usageAlerts, Informer<RetentionPolicy> retentionPolicies,
    UsageAlertTenancy tenancy, ResourceRules rules, ILogger<WorkloadReconciler> logger)
{
    private bool? _monitoringServed;

    /// <summary>The Budgets handed off beside the alerts (none when unset).</summary>
    public Informer<Budget>? Budgets { get; init; }
    public BudgetTenancy? BudgetTenancy { get; init; }

    public async Task ReconcileAsync(CancellationToken ct)
    {
        // What the aggregator gets: valid alerts its namespace's tenant allows, confined where the tenant says so.
        // Secrets are read for those alone: an invalid or refused alert gets nothing copied.
        var alerts = usageAlerts.Items
            .Select(tenancy.HandOff).OfType<UsageAlert>()
            .Where(a => ResourceDocuments.Validate(a, rules).Count == 0)
            .ToList();
        var budgets = BudgetTenancy is null ? [] : (Budgets?.Items ?? [])
            .Select(BudgetTenancy.HandOff).OfType<Budget>()
            .Where(b => ResourceDocuments.Validate(b, rules).Count == 0)
            .ToList();
        var secrets = await SecretLookup.ReadAsync(api, alerts.Concat<k8s.IKubernetesObject<k8s.Models.V1ObjectMeta>>(budgets), ct);
        var resources = new RenderInput
        {
            CostRates = costRates.Items.ToList(),
            UsageAlerts = alerts,
            RetentionPolicies = retentionPolicies.Items.ToList(),
            Budgets = budgets,
            WebhookSecretValues = secrets.Values,
            SecretsNotAllowed = secrets.NotAllowed,
            Rules = rules,
        };
        var served = await discovery.IsMonitoringServedAsync(ct);
        if (served != _monitoringServed && !served)
            logger.LogWarning("monitoring.coreos.com/v1 is not served: no ServiceMonitor or PrometheusRule is written; install the Prometheus Operator CRDs to get them");
        _monitoringServed = served;
        foreach (var desired in renderer.Workload(resources, served))
            if (await applier.EnsureAsync(desired, ct) == ApplyOutcome.Applied)
                logger.LogInformation("Applied {Object}", desired);
    }
}
