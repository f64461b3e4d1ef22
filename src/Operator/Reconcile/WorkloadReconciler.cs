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

    public async Task ReconcileAsync(CancellationToken ct)
    {
        // What the aggregator gets: valid alerts its namespace's tenant allows, confined where the tenant says so.
        // Secrets are read for those alone: an invalid or refused alert gets nothing copied.
        var alerts = usageAlerts.Items
            .Select(tenancy.HandOff).OfType<UsageAlert>()
            .Where(a => ResourceDocuments.Validate(a, rules).Count == 0)
            .ToList();
        var secrets = await SecretLookup.ReadAsync(api, alerts, ct);
        var resources = new RenderInput
        {
            CostRates = costRates.Items.ToList(),
            UsageAlerts = alerts,
            RetentionPolicies = retentionPolicies.Items.ToList(),
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
