using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Controller;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Reconcile;

/// <summary>The aggregator workload: ConfigMap of all resources, webhook Secret, Deployment, Service, ServiceMonitor.</summary>
public sealed class WorkloadReconciler(
    ObjectApi api, Renderer renderer, Applier applier, DiscoveryCache discovery,
    Informer<CostRate> costRates, Informer<UsageAlert> usageAlerts, Informer<RetentionPolicy> retentionPolicies,
    ILogger<WorkloadReconciler> logger)
{
    private bool? _monitoringServed;

    public async Task ReconcileAsync(CancellationToken ct)
    {
        var alerts = usageAlerts.Items;
        var resources = new ResourceSet
        {
            CostRates = costRates.Items.ToList(),
            UsageAlerts = alerts.ToList(),
            RetentionPolicies = retentionPolicies.Items.ToList(),
            WebhookSecretValues = await SecretLookup.ReadAsync(api, alerts, ct),
        };
        var served = await discovery.IsMonitoringServedAsync(ct);
        if (served != _monitoringServed && !served)
            logger.LogWarning("monitoring.coreos.com/v1 is not served: no ServiceMonitor or PrometheusRule is written; install the Prometheus Operator CRDs to get them");
        _monitoringServed = served;
        foreach (var desired in renderer.Workload(resources, served))
            if (await applier.EnsureAsync(desired, ct))
                logger.LogInformation("Applied {Object}", desired);
    }
}
