using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Validation;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Reconcile;

/// <summary>
/// The aggregator workload: ConfigMap of the cluster-scoped kinds, Deployment, Service, ServiceMonitor. Once per
/// leadership term it also deletes the pooled webhook Secret of earlier versions and re-queues every namespace that
/// has hand-off objects, so those of a namespace whose last resource went while no operator ran are deleted.
/// </summary>
public sealed class WorkloadReconciler(
    Renderer renderer, Applier applier, DiscoveryCache discovery, HandOffReconciler handOff,
    Informer<CostRate> costRates, Informer<RetentionPolicy> retentionPolicies, ResourceRules rules,
    Action<string> enqueue, ILogger<WorkloadReconciler> logger)
{
    private bool? _monitoringServed;
    private bool _sweptThisTerm;

    public async Task ReconcileAsync(CancellationToken ct)
    {
        var resources = new RenderInput
        {
            CostRates = costRates.Items.ToList(),
            RetentionPolicies = retentionPolicies.Items.ToList(),
            Rules = rules,
        };
        var served = await discovery.IsMonitoringServedAsync(ct);
        if (served != _monitoringServed && !served)
            logger.LogWarning("monitoring.coreos.com/v1 is not served: no ServiceMonitor or PrometheusRule is written; install the Prometheus Operator CRDs to get them");
        _monitoringServed = served;
        foreach (var desired in renderer.Workload(resources, served))
            if (await applier.EnsureAsync(desired, ct) == ApplyOutcome.Applied)
                logger.LogInformation("Applied {Object}", desired);
        if (_sweptThisTerm) return;
        if (await applier.DeleteManagedAsync(ObjectKind.Secret, renderer.Namespace, HandOff.PooledWebhookSecret, ct))
            logger.LogInformation("Deleted the pooled Secret {Name}: every namespace now has a Secret of its own", HandOff.PooledWebhookSecret);
        foreach (var ns in await handOff.LiveNamespacesAsync(ct)) enqueue(Keys.HandOff(ns));
        _sweptThisTerm = true;
    }
}
