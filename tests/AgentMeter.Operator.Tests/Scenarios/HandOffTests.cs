using System.Text.Json.Nodes;
using AgentMeter.Operator.Tests.Support;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>
/// The hand-off to the aggregator per namespace (docs/operator.md): stale objects go, the pooled Secret of earlier
/// versions goes, and the real aggregator, watching the hand-off objects, evaluates a change within seconds.
/// </summary>
public class HandOffTests(ITestOutputHelper output)
{
    private static string Alert(string name, string ns, string threshold) => $$"""
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec: {metric: callCount, threshold: "{{threshold}}", window: 1h}
        """;

    private static Dictionary<string, string> Managed(Dictionary<string, string>? extra = null)
    {
        var labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "agentmeter-operator" };
        foreach (var (k, v) in extra ?? []) labels[k] = v;
        return labels;
    }

    [Fact]
    public async Task StaleHandOffObjectsAndThePooledSecretAreDeletedWhatOthersMadeIsKept()
    {
        await using var h = await OperatorHarness.StartAsync();
        // Left by an earlier operator: the pooled Secret, and the hand-off of a namespace whose alerts went meanwhile.
        await h.CreateSecretAsync(OperatorHarness.Namespace, "agentmeter-webhook-secrets", new() { ["gone.hook.url"] = "https://x.example/" }, Managed());
        await h.CreateSecretAsync(OperatorHarness.Namespace, "agentmeter-webhook-secrets-gone", new() { ["hook.url"] = "https://x.example/" },
            Managed(new() { ["agentmeter.io/hand-off"] = "webhook-secrets", ["agentmeter.io/source-namespace"] = "gone" }));
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "agentmeter-resources-gone", Labels = Managed(new() { ["agentmeter.io/hand-off"] = "resources", ["agentmeter.io/source-namespace"] = "gone" }) },
            Data = new Dictionary<string, string> { ["resources.yaml"] = "" },
        }, OperatorHarness.Namespace);
        // Someone else's object under a hand-off name: never the operator's to delete.
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "agentmeter-resources-other", Labels = new Dictionary<string, string> { ["agentmeter.io/source-namespace"] = "other" } },
        }, OperatorHarness.Namespace);
        await h.CreateAsync(Alert("calls", "team-a", "10"));
        await h.StartReplicaAsync();

        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-team-a") is not null, "team-a's ConfigMap");
        await OperatorHarness.WaitUntilAsync(() =>
            h.Api.Get("secrets", OperatorHarness.Namespace, "agentmeter-webhook-secrets") is null &&
            h.Api.Get("secrets", OperatorHarness.Namespace, "agentmeter-webhook-secrets-gone") is null &&
            h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-gone") is null, "stale hand-off objects deleted");
        Assert.NotNull(h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-other"));
        Assert.Empty(h.Api.Errors);
    }

    [Fact]
    public async Task AChangeInOneNamespaceRewritesOnlyThatNamespacesHandOff()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateAsync(Alert("calls", "team-a", "10"));
        await h.CreateAsync(Alert("calls", "team-b", "10"));
        var replica = await h.StartReplicaAsync();
        await OperatorHarness.WaitUntilAsync(() => h.HandOffConfigMaps().Count == 3, "agentmeter-resources and one ConfigMap per namespace");
        var teamB = h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-team-b")!["metadata"]!["resourceVersion"]!.GetValue<string>();

        await h.PatchSpecAsync("usagealerts", "team-a", "calls", new JsonObject { ["threshold"] = "20" });
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("threshold: \"20\""), "team-a's change handed off");
        await OperatorHarness.ResyncsAsync(replica, 1);
        Assert.Equal(teamB, h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-team-b")!["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheRealAggregatorEvaluatesACreatedChangedAndDeletedAlertWithinFiveSeconds()
    {
        await using var loop = await ApplyToEvaluated.StartAsync(["dotnet", OperatorProcess.JitAssembly("Debug")], ["team-a", "team-b"]);

        // A first alert once the operator runs (its start is not what is measured), then one in a namespace new to the hand-off.
        await loop.CreateAsync("team-a", "first", "10");
        var created = await loop.CreateAsync("team-b", "live", "10");
        var changed = await loop.ChangeAsync("team-b", "live", "20");
        var deleted = await loop.DeleteAsync("team-b", "live");
        output.WriteLine($"apply → evaluated by the aggregator: created {created.TotalSeconds:F2} s, changed {changed.TotalSeconds:F2} s, deleted {deleted.TotalSeconds:F2} s");

        Assert.InRange(created, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.InRange(changed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.InRange(deleted, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        // The aggregator only read, and config/rbac's Role for its ServiceAccount grants all it did.
        var aggregatorRequests = loop.Api.Requests.Where(r => r.User == "aggregator").ToList();
        Assert.Contains(aggregatorRequests, r => r is { Resource: "configmaps", Verb: "watch" });
        Assert.Contains(aggregatorRequests, r => r is { Resource: "secrets", Verb: "watch" });
        var rbac = RbacRules.Load(RepoPaths.Rbac, "agentmeter-aggregator");
        Assert.All(aggregatorRequests, r => Assert.True(rbac.Allows(r) && !r.IsWrite, r.ToString()));
        Assert.Empty(loop.Api.Errors);
    }
}
