using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Health;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMeter.Operator.Tests.Machinery;

/// <summary>
/// The informer lists in pages (limit and continue) against the fake API server, and lists again in pages after 410 Gone;
/// its transform reaches every object it caches.
/// </summary>
public class InformerTests
{
    private static JsonObject Alert(string ns, string name) => new()
    {
        ["apiVersion"] = "agentmeter.io/v1alpha1", ["kind"] = "UsageAlert",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject { ["metric"] = "cost", ["threshold"] = "10" },
    };

    private sealed class Running(FakeApiServer api, int pageSize, Action<UsageAlert>? transform = null) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _run = Task.CompletedTask;
        public OperatorMetrics Metrics { get; } = new();
        public ConcurrentQueue<ObjectChange<UsageAlert>> Changes { get; } = new();
        public Informer<UsageAlert> Informer { get; private set; } = null!;

        public Running Start()
        {
            Informer = new Informer<UsageAlert>(api.OperatorClient(), ObjectKind.Resource(UsageAlert.KindName, UsageAlert.Plural), Changes.Enqueue,
                Metrics, new LoopHealth(TimeProvider.System), NullLogger.Instance) { PageSize = pageSize, Transform = transform };
            _run = Informer.RunAsync(_stop.Token);
            return this;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run;
        }
    }

    private static int Lists(FakeApiServer api) => api.Requests.Count(r => r is { Verb: "list", Resource: "usagealerts", FromTest: false });

    private static string Names(Informer<UsageAlert> informer) =>
        string.Join(",", informer.Items.Select(Informer<UsageAlert>.KeyOf).Order(StringComparer.Ordinal));

    [Fact]
    public async Task ListsThroughEveryPageThenRelistsInPagesAfterTheWatchExpired()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateTestClient();
        foreach (var (ns, name) in new[] { ("a", "1"), ("a", "2"), ("b", "1"), ("b", "2"), ("c", "1") })
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert(ns, name), "agentmeter.io", "v1alpha1", ns, "usagealerts");

        await using var running = new Running(api, pageSize: 2).Start();
        await OperatorHarness.WaitUntilAsync(() => running.Informer.HasSynced, "first list");
        Assert.Equal("a/1,a/2,b/1,b/2,c/1", Names(running.Informer));
        Assert.Equal(3, Lists(api));
        // Cut only a watch that is open: one that starts after the fault takes it, retries and resumes from history not
        // yet expired, so it never relists.
        await OperatorHarness.WaitUntilAsync(() => api.OpenWatches > 0, "the informer's watch open");

        // Changes while the watch is down and its history compacted: the relist (again three pages) sees them.
        api.InjectFault(r => r is { Verb: "watch", Resource: "usagealerts", FromTest: false }, 503, "ServiceUnavailable");
        api.DropWatches();
        await client.CustomObjects.DeleteNamespacedCustomObjectAsync("agentmeter.io", "v1alpha1", "a", "usagealerts", "1");
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert("d", "1"), "agentmeter.io", "v1alpha1", "d", "usagealerts");
        api.ExpireWatchHistory();
        await OperatorHarness.WaitUntilAsync(() => Names(running.Informer) == "a/2,b/1,b/2,c/1,d/1", () => Names(running.Informer));
        Assert.Equal(6, Lists(api));
        Assert.Equal(1, running.Metrics.WatchRestarts.WithLabels(UsageAlert.KindName, "gone").Value);
        Assert.Contains(running.Changes, c => c is { New: null, Old.Metadata.Name: "1", Old.Metadata.NamespaceProperty: "a" });
    }

    [Fact]
    public async Task AContinueTokenThatExpiredBetweenPagesRestartsTheList()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateTestClient();
        foreach (var name in new[] { "1", "2", "3" })
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert("a", name), "agentmeter.io", "v1alpha1", "a", "usagealerts");
        // The second page's request is refused as the API server refuses a continue token after compaction.
        var lists = 0;
        api.InjectFault(r => r is { Verb: "list", Resource: "usagealerts", FromTest: false } && ++lists == 2, 410, "Expired");

        await using var running = new Running(api, pageSize: 2).Start();
        await OperatorHarness.WaitUntilAsync(() => running.Informer.HasSynced, "list");
        Assert.Equal("a/1,a/2,a/3", Names(running.Informer));
        Assert.Equal(4, Lists(api)); // page 1, the refused page 2, then pages 1 and 2 again
        Assert.Equal(1, running.Metrics.WatchRestarts.WithLabels(UsageAlert.KindName, "gone").Value);
    }

    [Fact]
    public async Task EveryListedAndWatchedObjectIsTransformedBeforeItIsCached()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateTestClient();
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert("a", "1"), "agentmeter.io", "v1alpha1", "a", "usagealerts");
        var pool = new StringPool();

        await using var running = new Running(api, pageSize: 2, a => CacheTransform.Compact(a, pool)).Start();
        await OperatorHarness.WaitUntilAsync(() => running.Informer.HasSynced, "list");
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert("a", "2"), "agentmeter.io", "v1alpha1", "a", "usagealerts");
        await OperatorHarness.WaitUntilAsync(() => running.Informer.Get("a/2") is not null, "watched");

        var (listed, watched) = (running.Informer.Get("a/1")!, running.Informer.Get("a/2")!);
        Assert.Same(listed.Metadata.NamespaceProperty, watched.Metadata.NamespaceProperty);
        Assert.Same(listed.Spec.Metric, watched.Spec.Metric);
        Assert.Equal("cost", watched.Spec.Metric);
    }

    [Fact]
    public async Task ANewVersionOfAnObjectKeepsTheCachedNameAndUidStrings()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateTestClient();
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert("a", "1"), "agentmeter.io", "v1alpha1", "a", "usagealerts");
        await using var running = new Running(api, pageSize: 10).Start();
        await OperatorHarness.WaitUntilAsync(() => running.Informer.HasSynced, "list");
        var first = running.Informer.Get("a/1")!;

        await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"threshold":"11"}}""", V1Patch.PatchType.MergePatch),
            "agentmeter.io", "v1alpha1", "a", "usagealerts", "1");
        await OperatorHarness.WaitUntilAsync(() => running.Informer.Get("a/1")!.Metadata.ResourceVersion != first.Metadata.ResourceVersion, "modified");

        var second = running.Informer.Get("a/1")!;
        Assert.NotSame(first, second);
        Assert.Same(first.Metadata.Uid, second.Metadata.Uid);
        Assert.Same(first.Metadata.Name, second.Metadata.Name);
    }
}
