using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Tests.Support;
using k8s.Models;

namespace AgentMeter.Operator.Tests.FakeApi;

/// <summary>The fake API server behaves like the real one where the operator depends on it (driven through the real client).</summary>
public class FakeApiServerTests
{
    private static V1Patch Apply(JsonObject body) => new(body.ToJsonString(), V1Patch.PatchType.ApplyPatch);

    private static JsonObject Rule(string expr, string? label = null)
    {
        var rule = new JsonObject
        {
            ["apiVersion"] = "monitoring.coreos.com/v1", ["kind"] = "PrometheusRule",
            ["metadata"] = new JsonObject { ["name"] = "r", ["namespace"] = "ns" },
            ["spec"] = new JsonObject { ["groups"] = new JsonArray(new JsonObject { ["name"] = "g", ["rules"] = new JsonArray(new JsonObject { ["alert"] = "A", ["expr"] = expr }) }) },
        };
        if (label is not null) rule["metadata"]!["labels"] = new JsonObject { ["team"] = label };
        return rule;
    }

    private static async Task<JsonObject> ApplyRule(IKubernetes client, JsonObject body, string manager, bool force = false) =>
        JsonNode.Parse(((JsonElement)await client.CustomObjects.PatchNamespacedCustomObjectAsync(Apply(body), "monitoring.coreos.com", "v1", "ns", "prometheusrules", "r", fieldManager: manager, force: force)).GetRawText())!.AsObject();

    [Fact]
    public async Task ServerSideApplyCreatesMergesRemovesAndReportsConflicts()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateClient();

        var created = await ApplyRule(client, Rule("up == 0", label: "a"), "op");
        var rv1 = created["metadata"]!["resourceVersion"]!.GetValue<string>();
        Assert.Equal("op", created["metadata"]!["managedFields"]![0]!["manager"]!.GetValue<string>());
        Assert.Equal("Apply", created["metadata"]!["managedFields"]![0]!["operation"]!.GetValue<string>());

        // Same configuration again: nothing changes, not even the resourceVersion.
        var again = await ApplyRule(client, Rule("up == 0", label: "a"), "op");
        Assert.Equal(rv1, again["metadata"]!["resourceVersion"]!.GetValue<string>());

        // A field the manager stops sending is removed.
        var dropped = await ApplyRule(client, Rule("up == 0"), "op");
        Assert.Null(dropped["metadata"]!["labels"]);

        // Another manager changing an owned field conflicts, unless it forces.
        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() => ApplyRule(client, Rule("up == 1"), "someone-else"));
        Assert.Equal(HttpStatusCode.Conflict, conflict.Response.StatusCode);
        Assert.Contains("conflict with \"op\"", JsonNode.Parse(conflict.Response.Content)!["message"]!.GetValue<string>());
        var forced = await ApplyRule(client, Rule("up == 1"), "someone-else", force: true);
        Assert.Equal("up == 1", forced["spec"]!["groups"]![0]!["rules"]![0]!["expr"]!.GetValue<string>());

        // Apply without a field manager is refused, as by the API server.
        var noManager = await Assert.ThrowsAsync<HttpOperationException>(() =>
            client.CustomObjects.PatchNamespacedCustomObjectAsync(Apply(Rule("x")), "monitoring.coreos.com", "v1", "ns", "prometheusrules", "r"));
        Assert.Equal(HttpStatusCode.BadRequest, noManager.Response.StatusCode);
    }

    private const string AlertJson = """{"apiVersion":"agentmeter.io/v1alpha1","kind":"UsageAlert","metadata":{"name":"a","namespace":"ns"},"spec":{"metric":"cost","threshold":"10"}}""";

    [Fact]
    public async Task ResourceVersionConflictsGenerationAndStatusSubresource()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateClient();
        var created = JsonNode.Parse(((JsonElement)await client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonNode.Parse(AlertJson)!, "agentmeter.io", "v1alpha1", "ns", "usagealerts")).GetRawText())!.AsObject();
        Assert.Equal(1, created["metadata"]!["generation"]!.GetValue<long>());
        Assert.Equal("1h", created["spec"]!["window"]!.GetValue<string>()); // CRD default applied

        // A stale resourceVersion on update is a 409 Conflict.
        var stale = created.DeepClone().AsObject();
        stale["metadata"]!["resourceVersion"] = "1";
        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() =>
            client.CustomObjects.ReplaceNamespacedCustomObjectAsync(stale, "agentmeter.io", "v1alpha1", "ns", "usagealerts", "a"));
        Assert.Equal(HttpStatusCode.Conflict, conflict.Response.StatusCode);

        // Status through /status: generation stays; status in a main-resource update is ignored.
        var status = new JsonObject
        {
            ["apiVersion"] = "agentmeter.io/v1alpha1", ["kind"] = "UsageAlert", ["metadata"] = new JsonObject { ["name"] = "a", ["namespace"] = "ns" },
            ["status"] = new JsonObject { ["state"] = "Firing" },
        };
        await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(Apply(status), "agentmeter.io", "v1alpha1", "ns", "usagealerts", "a", fieldManager: "op");
        var afterStatus = api.Get("usagealerts", "ns", "a")!;
        Assert.Equal("Firing", afterStatus["status"]!["state"]!.GetValue<string>());
        Assert.Equal(1, afterStatus["metadata"]!["generation"]!.GetValue<long>());

        var mainWithStatus = afterStatus.DeepClone().AsObject();
        mainWithStatus["status"]!["state"] = "Ok";
        mainWithStatus["metadata"]!["labels"] = new JsonObject { ["x"] = "y" };
        await client.CustomObjects.ReplaceNamespacedCustomObjectAsync(mainWithStatus, "agentmeter.io", "v1alpha1", "ns", "usagealerts", "a");
        var afterLabels = api.Get("usagealerts", "ns", "a")!;
        Assert.Equal("Firing", afterLabels["status"]!["state"]!.GetValue<string>());
        Assert.Equal(1, afterLabels["metadata"]!["generation"]!.GetValue<long>()); // metadata change: no bump

        await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"threshold":"20"}}""", V1Patch.PatchType.MergePatch), "agentmeter.io", "v1alpha1", "ns", "usagealerts", "a");
        Assert.Equal(2, api.Get("usagealerts", "ns", "a")!["metadata"]!["generation"]!.GetValue<long>());

        // CRD validation (OpenAPI + CEL) answers 422 Invalid.
        var invalid = await Assert.ThrowsAsync<HttpOperationException>(() => client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"webhooks":[{"name":"w"}]}}""", V1Patch.PatchType.MergePatch), "agentmeter.io", "v1alpha1", "ns", "usagealerts", "a"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.Response.StatusCode);
        Assert.Contains("exactly one of url or urlSecretRef", JsonNode.Parse(invalid.Response.Content)!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeleteCascadesToOwnedObjects()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateClient();
        var owner = JsonNode.Parse(((JsonElement)await client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonNode.Parse(AlertJson)!, "agentmeter.io", "v1alpha1", "ns", "usagealerts")).GetRawText())!;
        var rule = Rule("up == 0");
        rule["metadata"]!["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "agentmeter.io/v1alpha1", ["kind"] = "UsageAlert", ["name"] = "a", ["uid"] = owner["metadata"]!["uid"]!.DeepClone() });
        await ApplyRule(client, rule, "op");
        await client.CustomObjects.DeleteNamespacedCustomObjectAsync("agentmeter.io", "v1alpha1", "ns", "usagealerts", "a");
        Assert.Null(api.Get("prometheusrules", "ns", "r"));
    }

    [Fact]
    public async Task WatchSendsBookmarksAndGoneForExpiredHistory()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.BookmarkInterval = TimeSpan.FromMilliseconds(100);
        var client = api.CreateClient();
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonNode.Parse(AlertJson)!, "agentmeter.io", "v1alpha1", "ns", "usagealerts");
        var rv = api.CurrentResourceVersion.ToString();

        var types = new List<string>();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try
            {
                await foreach (var e in ClusterWatch.WatchAsync(api.OperatorClient(), ObjectKind.Resource("UsageAlert", "usagealerts"), rv, 30, cts.Token))
                {
                    types.Add(e.Type);
                    if (types.Count == 1)
                        await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"threshold":"11"}}""", V1Patch.PatchType.MergePatch), "agentmeter.io", "v1alpha1", "ns", "usagealerts", "a");
                    if (types.Contains("MODIFIED")) break;
                }
            }
            catch (OperationCanceledException) { }
        }
        Assert.Equal("BOOKMARK", types[0]);
        Assert.Contains("MODIFIED", types);

        api.ExpireWatchHistory();
        var events = new List<WatchEvent>();
        await foreach (var e in ClusterWatch.WatchAsync(api.OperatorClient(), ObjectKind.Resource("UsageAlert", "usagealerts"), rv, 30, CancellationToken.None))
            events.Add(e with { Object = e.Object.Clone() });
        Assert.Equal(410, Assert.Single(events).ErrorCode);
    }

    [Fact]
    public async Task ListsInPagesOfOneSnapshotAndExpiresTheContinueTokenAfterAChange()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateClient();
        foreach (var (ns, name) in new[] { ("b", "1"), ("a", "2"), ("a", "1") })
        {
            var alert = JsonNode.Parse(AlertJson)!;
            alert["metadata"]!["name"] = name;
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(alert, "agentmeter.io", "v1alpha1", ns, "usagealerts");
        }
        var kind = ObjectKind.Resource("UsageAlert", "usagealerts");
        var rv = api.CurrentResourceVersion.ToString();
        using var operatorClient = api.OperatorClient();

        var names = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            using var page = await ClusterWatch.ListPageAsync(operatorClient, kind, 2, token, CancellationToken.None);
            pages++;
            var metadata = page.RootElement.GetProperty("metadata");
            Assert.Equal(rv, metadata.GetProperty("resourceVersion").GetString()); // every page: the first page's snapshot
            names.AddRange(page.RootElement.GetProperty("items").EnumerateArray().Select(i => $"{i.GetProperty("metadata").GetProperty("namespace")}/{i.GetProperty("metadata").GetProperty("name")}"));
            token = metadata.TryGetProperty("continue", out var next) ? next.GetString() : null;
            if (token is not null) Assert.Equal(3 - names.Count, metadata.GetProperty("remainingItemCount").GetInt32());
        } while (token is not null);
        Assert.Equal(2, pages);
        Assert.Equal(["a/1", "a/2", "b/1"], names);

        // A change of the kind after the first page: its continue token has expired (410), as after a compaction.
        using (var first = await ClusterWatch.ListPageAsync(operatorClient, kind, 2, null, CancellationToken.None))
            token = first.RootElement.GetProperty("metadata").GetProperty("continue").GetString();
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"threshold":"11"}}""", V1Patch.PatchType.MergePatch), "agentmeter.io", "v1alpha1", "b", "usagealerts", "1");
        var expired = await Assert.ThrowsAsync<ApiRefusedException>(() => ClusterWatch.ListPageAsync(operatorClient, kind, 2, token, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Gone, expired.StatusCode);
    }

    [Fact]
    public async Task LeaderElectorAcquiresAndKeepsTheLease()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateClient();
        var elector = new LeaseElector(api.OperatorClient(), "ns", "lease", "me", TimeProvider.System)
        {
            // Generous periods: CI machines are busy.
            LeaseDuration = TimeSpan.FromSeconds(6), RenewDeadline = TimeSpan.FromSeconds(4), RetryPeriod = TimeSpan.FromSeconds(1),
        };
        var started = new TaskCompletionSource();
        elector.OnStartedLeading += () => started.TrySetResult();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = elector.RunUntilLeadershipLostAsync(cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(25));
        await OperatorHarness.WaitUntilAsync(() => api.Requests.Any(r => r.Resource == "leases" && r.Verb == "update" && r.Status == 200), "a renewal of the Lease");
        cts.Cancel();
        try { await run; } catch (OperationCanceledException) { }
        Assert.Equal("me", api.Get("leases", "ns", "lease")!["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Contains(api.Requests, r => r.Resource == "leases" && r.Verb == "update" && r.Status == 200);
        Assert.Empty(api.Errors);
    }

    [Fact]
    public async Task DiscoveryListsMonitoringOnlyWhenInstalled()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateClient();
        Assert.Contains((await client.Apis.GetAPIVersionsAsync()).Groups, g => g.Name == "monitoring.coreos.com");
        api.MonitoringInstalled = false;
        Assert.DoesNotContain((await client.Apis.GetAPIVersionsAsync()).Groups, g => g.Name == "monitoring.coreos.com");
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => ApplyRule(client, Rule("up"), "op"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Response.StatusCode);
    }
}
