using ResourceLoader = AgentMeter.Aggregator.Resources.ResourceLoader;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Tests.Contracts;

/// <summary>docs/contracts.md: the aggregator's --resources loader reads the ConfigMap the operator writes, document for document.</summary>
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
        var configMap = new Renderer(new AggregatorOptions(), new MonitoringOptions(), "agentmeter").Workload(set, monitoringServed: false)
            .Single(o => o.Kind == ObjectKind.ConfigMap);
        var yaml = configMap.Body["data"]![AggregatorWorkload.ResourcesKey]!.GetValue<string>();

        // As mounted in the aggregator's pod: a folder holding the ConfigMap's key as a file.
        var dir = Directory.CreateTempSubdirectory("agentmeter-configmap-").FullName;
        File.WriteAllText(Path.Combine(dir, AggregatorWorkload.ResourcesKey), yaml);
        var loaded = ResourceLoader.LoadPaths([dir]);
        Directory.Delete(dir, recursive: true);

        Assert.Empty(loaded.Problems);
        Assert.Equal(docs.Select(d => (d.Kind, d.Metadata.NamespaceProperty, d.Metadata.Name)).Order(),
            loaded.Resources.Select(d => (d.Kind, d.Metadata.NamespaceProperty, d.Metadata.Name)).Order());
    }
}
