using ResourceLoader = AgentMeter.Aggregator.Resources.ResourceLoader;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Tests.Contracts;

/// <summary>docs/contracts.md: the aggregator's loader reads the hand-off ConfigMaps the operator writes, document for document.</summary>
public class AggregatorReadsOperatorConfigTests
{
    [Fact]
    public void ResourcesConfigMapLoadsInTheAggregatorWithoutProblems()
    {
        var docs = Directory.GetFiles(RepoPaths.Samples, "*.yaml")
            .SelectMany(f => ResourceDocuments.Read(File.ReadAllText(f), f).Resources).ToList();
        Assert.True(docs.Count >= 4);
        Assert.Contains(docs, d => d is Entities.Resources.Budget);
        var set = new RenderInput
        {
            CostRates = docs.OfType<Entities.Resources.CostRate>().ToList(),
            UsageAlerts = docs.OfType<Entities.Resources.UsageAlert>().ToList(),
            RetentionPolicies = docs.OfType<Entities.Resources.RetentionPolicy>().ToList(),
            Budgets = docs.OfType<Entities.Resources.Budget>().ToList(),
        };
        var configMaps = new Renderer(new AggregatorOptions(), new MonitoringOptions(), "agentmeter").All(set, monitoringServed: false)
            .Where(o => o.Kind == ObjectKind.ConfigMap).ToList();
        Assert.True(configMaps.Count >= 2, "the cluster-scoped kinds' ConfigMap and one per namespace");

        // Each hand-off ConfigMap's key as a file of one folder (what `render` output gives --resources).
        var dir = Directory.CreateTempSubdirectory("agentmeter-configmap-").FullName;
        foreach (var configMap in configMaps)
            File.WriteAllText(Path.Combine(dir, configMap.Name + ".yaml"), configMap.Body["data"]![HandOff.ResourcesKey]!.GetValue<string>());
        var loaded = ResourceLoader.LoadPaths([dir]);
        Directory.Delete(dir, recursive: true);

        Assert.Empty(loaded.Problems);
        Assert.Equal(docs.Select(d => (d.Kind, d.Metadata.NamespaceProperty, d.Metadata.Name)).Order(),
            loaded.Resources.Select(d => (d.Kind, d.Metadata.NamespaceProperty, d.Metadata.Name)).Order());
    }
}
