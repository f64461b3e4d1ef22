using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Operator.Tests.Support;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>
/// The hand-off to the aggregator per namespace (docs/operator.md): stale objects go, the pooled Secret of earlier
/// versions goes, and the real aggregator, watching the hand-off objects, sees a change within seconds.
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
    public async Task TheRealAggregatorSeesACreatedChangedAndDeletedAlertWithinFiveSeconds()
    {
        await using var api = await Testing.FakeApi.FakeApiServer.StartAsync();
        var kubeconfig = api.WriteKubeconfig("aggregator");
        const string token = "handoff-admin-token";
        await using var aggregator = await Testing.Processes.AggregatorProcess.StartAsync("serve", [], new Dictionary<string, string>
        {
            ["Resources__Namespace"] = OperatorHarness.Namespace,
            ["Resources__Kubeconfig"] = kubeconfig,
            ["Auth__AdminToken"] = token,
        });
        await using var operatorProcess = Testing.Processes.OperatorProcess.Start(api, ["dotnet", Testing.Processes.OperatorProcess.JitAssembly("Debug")], new Dictionary<string, string>
        {
            ["Operator__Namespace"] = OperatorHarness.Namespace,
            ["Operator__LeaderElection__Enabled"] = "false",
            ["Operator__Tenancy__ClusterWideNamespaces__0"] = "team-a",
            ["Operator__Tenancy__ClusterWideNamespaces__1"] = "team-b",
            ["Aggregator__Url"] = aggregator.BaseUrl,
        });
        using var http = new HttpClient { BaseAddress = new Uri(aggregator.BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var client = api.CreateTestClient();

        async Task<string?> ThresholdAsync(string name)
        {
            using var body = JsonDocument.Parse(await http.GetStringAsync("/api/v1/resources"));
            return body.RootElement.GetProperty("usageAlerts").EnumerateArray()
                .Where(a => a.GetProperty("metadata").GetProperty("name").GetString() == name)
                .Select(a => a.GetProperty("spec").GetProperty("threshold").ToString()).FirstOrDefault();
        }
        async Task<TimeSpan> UntilAsync(Func<string?, bool> seen, string what, string name = "live")
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(90))
            {
                if (seen(await ThresholdAsync(name))) return clock.Elapsed;
                await Task.Delay(20);
            }
            throw new TimeoutException($"{what} not seen by the aggregator in 90 s:\n{aggregator.Log}");
        }
        Task CreateAsync(string name, string ns) => client.CustomObjects.CreateNamespacedCustomObjectAsync(
            Entities.Serialization.YamlJson.ReadDocuments(Alert(name, ns, "10")).Single().AsObject(), "agentmeter.io", "v1alpha1", ns, "usagealerts");

        // A first alert once the operator runs (its start is not what is measured), then one in a namespace new to the hand-off.
        await CreateAsync("first", "team-a");
        await UntilAsync(t => t == "10", "the first alert", "first");
        await CreateAsync("live", "team-b");
        var created = await UntilAsync(t => t == "10", "the created alert");
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("{\"spec\":{\"threshold\":\"20\"}}", V1Patch.PatchType.MergePatch),
            "agentmeter.io", "v1alpha1", "team-b", "usagealerts", "live");
        var changed = await UntilAsync(t => t == "20", "the changed threshold");
        await client.CustomObjects.DeleteNamespacedCustomObjectAsync("agentmeter.io", "v1alpha1", "team-b", "usagealerts", "live");
        var deleted = await UntilAsync(t => t is null, "the deletion");
        output.WriteLine($"apply → aggregator's ResourceStore: created {created.TotalSeconds:F2} s, changed {changed.TotalSeconds:F2} s, deleted {deleted.TotalSeconds:F2} s");

        Assert.InRange(created, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.InRange(changed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.InRange(deleted, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        // The aggregator only read, and config/rbac's Role for its ServiceAccount grants all it did.
        var aggregatorRequests = api.Requests.Where(r => r.User == "aggregator").ToList();
        Assert.Contains(aggregatorRequests, r => r is { Resource: "configmaps", Verb: "watch" });
        Assert.Contains(aggregatorRequests, r => r is { Resource: "secrets", Verb: "watch" });
        var rbac = RbacRules.Load(RepoPaths.Rbac, "agentmeter-aggregator");
        Assert.All(aggregatorRequests, r => Assert.True(rbac.Allows(r) && !r.IsWrite, r.ToString()));
        Assert.Empty(api.Errors);
    }
}
