using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;

namespace AgentMeter.Operator.Rendering;

/// <summary>
/// Every object the operator applies for a set of resources. <c>run</c> and <c>render</c> both call this,
/// so what an SRE reviews offline is what lands in the cluster.
/// </summary>
public sealed class Renderer(AggregatorOptions aggregator, MonitoringOptions monitoring, string ns)
{
    public string Namespace => ns;

    /// <summary>Objects of the aggregator workload (one set per cluster), with the cluster-scoped kinds' ConfigMap.</summary>
    public IReadOnlyList<DesiredObject> Workload(RenderInput resources, bool monitoringServed)
    {
        var workload = new AggregatorWorkload(aggregator, monitoring, ns);
        var objects = new List<DesiredObject>
        {
            ConfigRendering.ResourcesConfigMap(resources, ns),
            workload.Deployment(),
            workload.Service(),
        };
        if (monitoringServed) objects.Add(workload.ServiceMonitor());
        return objects;
    }

    /// <summary>What one namespace hands to the aggregator: its resource shards and its webhook Secret (if any key is referenced).</summary>
    public IReadOnlyList<DesiredObject> HandOff(RenderInput resources, string sourceNs)
    {
        var objects = ConfigRendering.ResourceShards(resources, sourceNs, ns).ToList();
        if (ConfigRendering.WebhookSecret(resources, sourceNs, ns) is { } secret) objects.Add(secret);
        return objects;
    }

    /// <summary>The PrometheusRule of one UsageAlert, or why there is none.</summary>
    public (DesiredObject? Rule, AlertExpression Expression) Rule(UsageAlert alert) => PrometheusRules.For(alert, monitoring);

    /// <summary>Everything, as <c>render</c> prints it: workload first, then each namespace's hand-off, then one rule per valid UsageAlert.</summary>
    public IReadOnlyList<DesiredObject> All(RenderInput resources, bool monitoringServed)
    {
        var objects = Workload(resources, monitoringServed).ToList();
        foreach (var sourceNs in resources.All.Select(r => r.Metadata.NamespaceProperty).OfType<string>().Distinct().Order(StringComparer.Ordinal))
            objects.AddRange(HandOff(resources.Of(sourceNs), sourceNs));
        if (monitoringServed)
            objects.AddRange(resources.Valid.OfType<UsageAlert>().Select(a => Rule(a).Rule).OfType<DesiredObject>());
        return objects;
    }
}
