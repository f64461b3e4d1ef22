using System.Text.Json.Nodes;
using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

/// <summary>
/// The NetworkPolicies of both pods: the chart and config/default render the same ones, they select the pods they
/// mean (the operator's, and the aggregator's as the operator makes it), and the values shape who gets in and out.
/// </summary>
public class NetworkPolicyTests
{
    private static JsonObject Policy(Install install, string name) => install.Single("NetworkPolicy", name);

    private static bool Selects(JsonObject policy, JsonObject? podLabels) =>
        podLabels is not null && (policy.At("spec.podSelector.matchLabels") as JsonObject ?? []).All(kv => podLabels[kv.Key]?.GetValue<string>() == kv.Value!.GetValue<string>());

    [Fact]
    public void ChartAndKustomizeRenderTheSamePolicies()
    {
        foreach (var name in new[] { "agentmeter-aggregator", "agentmeter-operator" })
        {
            var (chart, kustomize) = (Policy(Installs.ChartDefault, name)["spec"], Policy(Installs.Kustomize, name)["spec"]);
            Assert.True(JsonNode.DeepEquals(chart, kustomize), $"{name}: chart {chart!.ToJsonString()}\nkustomize {kustomize!.ToJsonString()}");
        }
    }

    [Fact]
    public void ThePoliciesSelectTheOperatorAndTheAggregatorPods()
    {
        var operatorPod = Installs.ChartDefault.Single("Deployment", "agentmeter-operator").At("spec.template.metadata.labels") as JsonObject;
        Assert.True(Selects(Policy(Installs.ChartDefault, "agentmeter-operator"), operatorPod));
        Assert.False(Selects(Policy(Installs.ChartDefault, "agentmeter-aggregator"), operatorPod));
        // The aggregator's pod labels as the operator renders them.
        var render = Cli.Run("dotnet", HelmChartTests.OperatorEnv(Installs.ChartDefault), Repo.OperatorDll, "render", "-f", Repo.Samples, "--namespace", Installs.Namespace);
        var aggregatorPod = new Install("render", render.Stdout).Single("Deployment", "agentmeter-aggregator").At("spec.template.metadata.labels") as JsonObject;
        Assert.True(Selects(Policy(Installs.ChartDefault, "agentmeter-aggregator"), aggregatorPod));
        Assert.False(Selects(Policy(Installs.ChartDefault, "agentmeter-operator"), aggregatorPod));
    }

    [Fact]
    public void DefaultIngressIsTheOperatorLabelledNamespacesAndPrometheusOnly()
    {
        var rules = Policy(Installs.ChartDefault, "agentmeter-aggregator").Objects("spec.ingress").ToList();
        Assert.Equal(3, rules.Count);
        Assert.Equal("operator", rules[0].At("from")![0]!["podSelector"]!["matchLabels"]!["app.kubernetes.io/component"]!.GetValue<string>());
        Assert.Equal("true", rules[1].At("from")![0]!["namespaceSelector"]!["matchLabels"]!["agentmeter.io/ingest"]!.GetValue<string>());
        Assert.Equal([8080, 4317], rules[1].Objects("ports").Select(p => p.At("port")!.GetValue<int>()));
        Assert.Equal("monitoring", rules[2].At("from")![0]!["namespaceSelector"]!["matchLabels"]!["kubernetes.io/metadata.name"]!.GetValue<string>());
        Assert.Equal([8080], rules[2].Objects("ports").Select(p => p.At("port")!.GetValue<int>()));
        Assert.Equal(["Ingress"], Policy(Installs.ChartDefault, "agentmeter-aggregator").At("spec.policyTypes")!.AsArray().Select(t => t!.GetValue<string>()));
        var operatorRules = Policy(Installs.ChartDefault, "agentmeter-operator").Objects("spec.ingress").ToList();
        Assert.Equal([8081], Assert.Single(operatorRules).Objects("ports").Select(p => p.At("port")!.GetValue<int>()));
    }

    [Fact]
    public void ProductionValuesLimitEgressToDnsTheApiServerTheDatabaseAndTheProxy()
    {
        var aggregator = Policy(Installs.ChartProduction, "agentmeter-aggregator");
        Assert.Equal(["Ingress", "Egress"], aggregator.At("spec.policyTypes")!.AsArray().Select(t => t!.GetValue<string>()));
        var egress = aggregator.Objects("spec.egress").ToList();
        Assert.Equal(3, egress.Count);
        Assert.Equal([53, 53], egress[0].Objects("ports").Select(p => p.At("port")!.GetValue<int>()));
        Assert.Equal("databases", egress[1].At("to")![0]!["namespaceSelector"]!["matchLabels"]!["kubernetes.io/metadata.name"]!.GetValue<string>());
        Assert.Equal(3128, egress[2].Objects("ports").Single().At("port")!.GetValue<int>());
        var operatorEgress = Policy(Installs.ChartProduction, "agentmeter-operator").Objects("spec.egress").ToList();
        Assert.Equal([443, 6443], operatorEgress[1].Objects("ports").Select(p => p.At("port")!.GetValue<int>()));
        Assert.Equal("10.0.0.1/32", operatorEgress[1].At("to")![0]!["ipBlock"]!["cidr"]!.GetValue<string>());
        Assert.Equal(8080, operatorEgress[2].Objects("ports").Single().At("port")!.GetValue<int>());
        Assert.Equal(2, Installs.ChartProduction.OfKind("NetworkPolicy").Count());
    }

    [Fact]
    public void PoliciesAreOptional()
    {
        var install = Installs.Chart("helm template --set networkPolicy.enabled=false", "--set", "networkPolicy.enabled=false");
        Assert.Empty(install.OfKind("NetworkPolicy"));
    }
}
