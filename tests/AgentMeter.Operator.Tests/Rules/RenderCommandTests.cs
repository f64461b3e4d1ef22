using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Commands;
using Microsoft.Extensions.Configuration;

namespace AgentMeter.Operator.Tests.Rules;

public class RenderCommandTests
{
    /// <summary>Runs render with a fixed operator configuration.</summary>
    internal static (int Exit, string Out, string Err) Render(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var exit = RenderCommand.Run(args, stdout, stderr, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Operator:Namespace"] = "agentmeter", ["Aggregator:Image"] = "registry.example/agentmeter:1.2.3",
        }).Build());
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void MissingPathAndMissingFlagAreClearErrors()
    {
        var missing = Render("-f", "/nonexistent/alerts.yaml");
        Assert.Equal(2, missing.Exit);
        Assert.Contains("/nonexistent/alerts.yaml: no such file or folder", missing.Err);
        var none = Render();
        Assert.Equal(2, none.Exit);
        Assert.Contains("no -f PATH given", none.Err);
    }

    [Fact]
    public void InvalidResourcesAreReportedAndLeftOutLikeRunDoes()
    {
        var file = Path.GetTempFileName() + ".yaml";
        File.WriteAllText(file, """
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: bad, namespace: team-a}
            spec: {metric: errorRate, threshold: "3", window: 1h}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: good, namespace: team-a}
            spec: {metric: callCount, threshold: "10", window: 1h}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlerts
            metadata: {name: typo}
            """);
        try
        {
            var (exit, stdout, stderr) = Render("-f", file);
            Assert.Equal(1, exit); // the unknown kind is a document error
            Assert.Contains("kind \"UsageAlerts\" is not one of", stderr);
            Assert.Contains("UsageAlert bad is skipped, spec.threshold: errorRate is a ratio from 0 to 1, got 3", stderr);
            var docs = YamlJson.ReadDocuments(stdout);
            Assert.Contains(docs, d => d["metadata"]!["name"]!.GetValue<string>() == "agentmeter-good");
            Assert.DoesNotContain(docs, d => d["metadata"]!["name"]!.GetValue<string>() == "agentmeter-bad");
            Assert.Contains("registry.example/agentmeter:1.2.3", stdout);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void NamespaceAndSecretDocumentsAreJudgedAsRunJudgesTheCluster()
    {
        var file = Path.GetTempFileName() + ".yaml";
        File.WriteAllText(file, """
            apiVersion: v1
            kind: Namespace
            metadata: {name: acme-apps, labels: {agentmeter.io/tenant: acme}}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: hooks, namespace: acme-apps, labels: {agentmeter.io/webhook-secret: "true"}}
            stringData: {url: "https://hooks.example.com/acme"}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: private, namespace: acme-apps}
            stringData: {url: "https://hooks.example.com/private"}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: calls, namespace: acme-apps}
            spec:
              metric: callCount
              threshold: "10"
              webhooks:
                - {name: a, urlSecretRef: {name: hooks, key: url}}
                - {name: b, urlSecretRef: {name: private, key: url}}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: steal, namespace: acme-apps}
            spec: {metric: cost, threshold: "1", filter: {tenantId: victim}, groupBy: user}
            """);
        try
        {
            var (exit, stdout, stderr) = Render("-f", file);
            Assert.Equal(1, exit);
            Assert.Contains("UsageAlert acme-apps/steal is left out, TenantNotAllowed: spec.filter.tenantId is \"victim\" but namespace acme-apps is bound to tenant \"acme\"", stderr);
            Assert.Contains("UsageAlert acme-apps/calls: Secret private is not labelled agentmeter.io/webhook-secret=\"true\" and is not copied", stderr);
            var docs = YamlJson.ReadDocuments(stdout);
            var resources = docs.Single(d => d["metadata"]!["name"]!.GetValue<string>() == "agentmeter-resources-acme-apps")["data"]!["resources.yaml"]!.GetValue<string>();
            Assert.Contains("tenantId: acme", resources);
            Assert.DoesNotContain("steal", resources);
            var secret = docs.Single(d => d["kind"]!.GetValue<string>() == "Secret");
            Assert.Equal("agentmeter-webhook-secrets-acme-apps", secret["metadata"]!["name"]!.GetValue<string>());
            Assert.Equal(["hooks.url"], secret["data"]!.AsObject().Select(kv => kv.Key));
            Assert.DoesNotContain(docs, d => d["kind"]!.GetValue<string>() == "PrometheusRule");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
