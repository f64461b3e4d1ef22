using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Commands;
using AgentMeter.Operator.Machinery;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentMeter.Operator.Tests.Support;

/// <summary>One fake API server, one aggregator stub, and any number of operator replicas (real hosts) against them.</summary>
public sealed class OperatorHarness : IAsyncDisposable
{
    public const string Namespace = "agentmeter";
    private readonly List<WebApplication> _replicas = [];

    public FakeApiServer Api { get; private init; } = null!;
    public AggregatorStub Aggregator { get; private init; } = null!;
    public IKubernetes Client { get; private init; } = null!;

    public static async Task<OperatorHarness> StartAsync(bool monitoring = true)
    {
        var api = await FakeApiServer.StartAsync();
        api.MonitoringInstalled = monitoring;
        return new OperatorHarness { Api = api, Aggregator = await AggregatorStub.StartAsync(), Client = api.CreateTestClient() };
    }

    /// <summary>Starts an operator replica (the real host: leader election, HTTP endpoints) against the fake.</summary>
    public async Task<WebApplication> StartReplicaAsync(string identity = "replica-a", Dictionary<string, string?>? settings = null)
    {
        var config = Settings(identity);
        foreach (var (k, v) in settings ?? []) config[k] = v;
        var app = RunCommand.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.ClearProviders();
            // AGENTMETER_TEST_LOGS=1 shows the operator's log while debugging a scenario.
            if (Environment.GetEnvironmentVariable("AGENTMETER_TEST_LOGS") == "1") builder.Logging.AddConsole();
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Services.AddSingleton(Api.OperatorClient());
        });
        await app.StartAsync();
        _replicas.Add(app);
        return app;
    }

    /// <summary>The configuration every replica gets (fast periods for tests; the same keys as in production).</summary>
    public Dictionary<string, string?> Settings(string identity = "replica-a")
    {
        return new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Operator:Namespace"] = Namespace,
            ["Operator:Identity"] = identity,
            ["Operator:ResyncPeriod"] = "00:00:02",
            ["Operator:StatusSyncPeriod"] = "00:00:00.200",
            ["Operator:WatchTimeoutSeconds"] = "30",
            ["Operator:LeaderElection:LeaseDuration"] = "00:00:04",
            ["Operator:LeaderElection:RenewDeadline"] = "00:00:03",
            ["Operator:LeaderElection:RetryPeriod"] = "00:00:01",
            ["Aggregator:Url"] = Aggregator.Url.ToString(),
            ["Aggregator:Image"] = "registry.example/agentmeter:test",
            ["Monitoring:RuleLabels:release"] = "kube-prometheus-stack",
            // The namespaces most scenarios use hold cluster-wide alerts; tenancy scenarios use namespaces of their own.
            ["Operator:Tenancy:ClusterWideNamespaces:0"] = "team-a",
            ["Operator:Tenancy:ClusterWideNamespaces:1"] = "team-b",
        };
    }

    /// <summary>What the aggregator is handed: key resources.yaml of every hand-off ConfigMap, in name order ("" before one exists).</summary>
    public string ResourcesYaml() => string.Concat(HandOffConfigMaps().Select(c => c["data"]?["resources.yaml"]?.GetValue<string>() ?? ""));

    /// <summary>The ConfigMaps labelled agentmeter.io/hand-off=resources in the operator's namespace, in name order.</summary>
    public IReadOnlyList<JsonObject> HandOffConfigMaps() => Api.List("configmaps")
        .Where(c => c["metadata"]?["namespace"]?.GetValue<string>() == Namespace && c["metadata"]?["labels"]?["agentmeter.io/hand-off"]?.GetValue<string>() == "resources")
        .OrderBy(c => c["metadata"]!["name"]!.GetValue<string>(), StringComparer.Ordinal).ToList();

    /// <summary>A key the operator copied for namespace <paramref name="ns"/> (Secret agentmeter-webhook-secrets-&lt;ns&gt;, key secret.key), decoded; null if absent.</summary>
    public string? WebhookSecretValue(string ns, string secret, string key) =>
        Api.Get("secrets", Namespace, $"agentmeter-webhook-secrets-{ns}")?["data"]?[$"{secret}.{key}"]?.GetValue<string>() is { } value
            ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(value))
            : null;

    public static LeaderHost Host(WebApplication replica) => replica.Services.GetRequiredService<LeaderHost>();

    public async Task StopReplicaAsync(WebApplication replica)
    {
        _replicas.Remove(replica);
        await replica.StopAsync();
        await replica.DisposeAsync();
    }

    /// <summary>Creates a resource from YAML through the real client, as kubectl create would.</summary>
    public async Task<JsonObject> CreateAsync(string yaml)
    {
        var doc = YamlJson.ReadDocuments(yaml).Single().AsObject();
        var (group, version) = Split(doc["apiVersion"]!.GetValue<string>());
        var plural = Plural(doc["kind"]!.GetValue<string>());
        var ns = doc["metadata"]!["namespace"]?.GetValue<string>();
        var created = ns is null
            ? await Client.CustomObjects.CreateClusterCustomObjectAsync(doc, group, version, plural)
            : await Client.CustomObjects.CreateNamespacedCustomObjectAsync(doc, group, version, ns, plural);
        return JsonNode.Parse(((System.Text.Json.JsonElement)created).GetRawText())!.AsObject();
    }

    /// <summary>The label a Secret carries to let the operator copy it for webhooks.</summary>
    public static Dictionary<string, string> WebhookSecretOptIn => new() { ["agentmeter.io/webhook-secret"] = "true" };

    /// <summary>Creates a Secret, as kubectl create secret would; <paramref name="labels"/> e.g. <see cref="WebhookSecretOptIn"/>.</summary>
    public async Task CreateSecretAsync(string ns, string name, Dictionary<string, string> data, Dictionary<string, string>? labels = null) =>
        await Client.CoreV1.CreateNamespacedSecretAsync(new k8s.Models.V1Secret
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
            Data = data.ToDictionary(kv => kv.Key, kv => System.Text.Encoding.UTF8.GetBytes(kv.Value)),
        }, ns);

    /// <summary>Creates a namespace, bound to <paramref name="tenant"/> (label agentmeter.io/tenant) when given.</summary>
    public async Task CreateNamespaceAsync(string name, string? tenant = null) =>
        await Client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace
        {
            Metadata = new k8s.Models.V1ObjectMeta
            {
                Name = name,
                Labels = tenant is null ? null : new Dictionary<string, string> { ["agentmeter.io/tenant"] = tenant },
            },
        });

    /// <summary>Binds a namespace to another tenant, as kubectl label --overwrite would.</summary>
    public async Task LabelNamespaceAsync(string name, string tenant)
    {
        var patch = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["agentmeter.io/tenant"] = tenant } } };
        await Client.CoreV1.PatchNamespaceAsync(new k8s.Models.V1Patch(patch.ToJsonString(), k8s.Models.V1Patch.PatchType.MergePatch), name);
    }

    /// <summary>Merge-patches a resource's spec, as kubectl edit / patch would.</summary>

    public async Task PatchSpecAsync(string plural, string? ns, string name, JsonObject spec)
    {
        var patch = new k8s.Models.V1Patch(new JsonObject { ["spec"] = spec }.ToJsonString(), k8s.Models.V1Patch.PatchType.MergePatch);
        if (ns is null) await Client.CustomObjects.PatchClusterCustomObjectAsync(patch, "agentmeter.io", "v1alpha1", plural, name);
        else await Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, "agentmeter.io", "v1alpha1", ns, plural, name);
    }

    public async Task DeleteAsync(string plural, string? ns, string name)
    {
        if (ns is null) await Client.CustomObjects.DeleteClusterCustomObjectAsync("agentmeter.io", "v1alpha1", plural, name);
        else await Client.CustomObjects.DeleteNamespacedCustomObjectAsync("agentmeter.io", "v1alpha1", ns, plural, name);
    }

    public static Task WaitUntilAsync(Func<bool> condition, string what, double seconds = 30) =>
        WaitUntilAsync(condition, () => what, seconds);

    /// <summary>Polls <paramref name="condition"/>; on timeout the message says what was awaited and what was seen.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, Func<string> what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {seconds}s waiting for: {what()}");
            await Task.Delay(25);
        }
    }

    /// <summary>Waits until <paramref name="count"/> more resyncs have reconciled the workload: every object looked at again.</summary>
    public static async Task ResyncsAsync(WebApplication replica, int count)
    {
        var reconciles = replica.Services.GetRequiredService<OperatorMetrics>().Reconciles.WithLabels("workload", "success");
        var target = reconciles.Value + count;
        await WaitUntilAsync(() => reconciles.Value >= target, $"{count} more resync(s) of the workload");
    }

    /// <summary>Waits until a whole resync passes without a write: what converging started has finished.</summary>
    public async Task SettleAsync(WebApplication replica)
    {
        for (var resync = 0; resync < 20; resync++)
        {
            var writes = Writes();
            await ResyncsAsync(replica, 1);
            if (Writes() == writes) return;
        }
        throw new TimeoutException("the operator still wrote after 20 resyncs: " + string.Join("\n", WriteLog().TakeLast(10)));
    }

    public static JsonObject? Condition(JsonObject? obj, string type) =>
        (obj?["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type);

    /// <summary>Writes the operator made to objects (the test's own requests and Lease renewals left out).</summary>
    public int Writes() => WriteLog().Count;

    public List<RecordedRequest> WriteLog() => Api.Requests.Where(r => r.IsWrite && !r.FromTest && r.Resource != "leases").ToList();

    private static (string, string) Split(string apiVersion)
    {
        var slash = apiVersion.IndexOf('/');
        return (apiVersion[..slash], apiVersion[(slash + 1)..]);
    }

    private static string Plural(string kind) => kind switch
    {
        "CostRate" => "costrates",
        "UsageAlert" => "usagealerts",
        "RetentionPolicy" => "retentionpolicies",
        "Budget" => "budgets",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas.ToList()) await StopReplicaAsync(replica);
        await Aggregator.DisposeAsync();
        await Api.DisposeAsync();
    }
}
