using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Testing.FakeApi;
using k8s;
using k8s.Models;

namespace AgentMeter.Testing.Processes;

/// <summary>
/// The path of a UsageAlert from <c>kubectl apply</c> to the aggregator's evaluation, end to end with the real
/// processes: the fake API server, the real aggregator (its own PostgreSQL) watching the hand-off objects there,
/// and the real operator writing them. Each step is timed from the API server's answer until the aggregator's
/// <c>GET /api/v1/alerts</c> shows the alert evaluated as it now is (or no longer shows it). The one home of that
/// measurement: the hand-off tests assert on it, the operator bench takes its percentiles.
/// </summary>
public sealed class ApplyToEvaluated : IAsyncDisposable
{
    public const string Namespace = "agentmeter";
    private const string Token = "apply-to-evaluated-admin-token";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly HttpClient _http;
    private readonly IKubernetes _client;

    public FakeApiServer Api { get; }
    public AggregatorProcess Aggregator { get; }
    public OperatorProcess Operator { get; }

    private ApplyToEvaluated(FakeApiServer api, AggregatorProcess aggregator, OperatorProcess operatorProcess)
    {
        (Api, Aggregator, Operator) = (api, aggregator, operatorProcess);
        _client = api.CreateTestClient();
        _http = new HttpClient { BaseAddress = new Uri(aggregator.BaseUrl) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    /// <summary>
    /// Starts the aggregator, then the operator (<paramref name="operatorCommand"/>: the Native AOT binary, or
    /// <c>dotnet</c> and the JIT assembly) with <paramref name="namespaces"/> as cluster-wide namespaces.
    /// </summary>
    public static async Task<ApplyToEvaluated> StartAsync(IEnumerable<string> operatorCommand, IReadOnlyList<string> namespaces)
    {
        var api = await FakeApiServer.StartAsync();
        AggregatorProcess? aggregator = null;
        try
        {
            aggregator = await AggregatorProcess.StartAsync("serve", [], new Dictionary<string, string>
            {
                ["Resources__Namespace"] = Namespace,
                ["Resources__Kubeconfig"] = api.WriteKubeconfig("aggregator"),
                ["Auth__AdminToken"] = Token,
            });
            var environment = new Dictionary<string, string>
            {
                ["Operator__Namespace"] = Namespace,
                ["Operator__LeaderElection__Enabled"] = "false",
                ["Aggregator__Url"] = aggregator.BaseUrl,
                ["Logging__LogLevel__Default"] = "Warning",
            };
            foreach (var (ns, i) in namespaces.Select((ns, i) => (ns, i)))
                environment[$"Operator__Tenancy__ClusterWideNamespaces__{i}"] = ns;
            return new ApplyToEvaluated(api, aggregator, OperatorProcess.Start(api, operatorCommand, environment));
        }
        catch
        {
            if (aggregator is not null) await aggregator.DisposeAsync();
            await api.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates a callCount alert; the time until the aggregator has evaluated it.</summary>
    public async Task<TimeSpan> CreateAsync(string ns, string name, string threshold)
    {
        var alert = new JsonObject
        {
            ["apiVersion"] = "agentmeter.io/v1alpha1", ["kind"] = "UsageAlert",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = new JsonObject { ["metric"] = "callCount", ["threshold"] = threshold, ["window"] = "1h" },
        };
        var applied = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        await _client.CustomObjects.CreateNamespacedCustomObjectAsync(alert, "agentmeter.io", "v1alpha1", ns, "usagealerts");
        return await UntilAsync(ns, name, a => EvaluatedAs(a, threshold, applied), clock, $"created alert {ns}/{name}");
    }

    /// <summary>Changes the alert's threshold; the time until the aggregator has evaluated it with the new one.</summary>
    public async Task<TimeSpan> ChangeAsync(string ns, string name, string threshold)
    {
        var applied = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        await _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch($"{{\"spec\":{{\"threshold\":\"{threshold}\"}}}}", V1Patch.PatchType.MergePatch),
            "agentmeter.io", "v1alpha1", ns, "usagealerts", name);
        return await UntilAsync(ns, name, a => EvaluatedAs(a, threshold, applied), clock, $"threshold {threshold} of {ns}/{name}");
    }

    /// <summary>Deletes the alert; the time until the aggregator no longer evaluates it.</summary>
    public async Task<TimeSpan> DeleteAsync(string ns, string name)
    {
        var clock = Stopwatch.StartNew();
        await _client.CustomObjects.DeleteNamespacedCustomObjectAsync("agentmeter.io", "v1alpha1", ns, "usagealerts", name);
        return await UntilAsync(ns, name, a => a is null, clock, $"deletion of {ns}/{name}");
    }

    /// <summary>
    /// The baseline without the operator: the hand-off ConfigMap of <paramref name="ns"/> (a namespace the operator
    /// does not hand off) written by hand, holding one alert with this threshold; the time until it is evaluated so.
    /// </summary>
    public async Task<TimeSpan> HandOffByHandAsync(string ns, string name, string threshold)
    {
        var configMap = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject
            {
                ["name"] = Entities.Resources.HandOff.ResourcesShard(ns, 1), ["namespace"] = Namespace,
                ["labels"] = new JsonObject { [Entities.Resources.HandOff.Label] = Entities.Resources.HandOff.Resources, [Entities.Resources.HandOff.SourceNamespaceLabel] = ns },
            },
            ["data"] = new JsonObject
            {
                [Entities.Resources.HandOff.ResourcesKey] =
                    $"apiVersion: agentmeter.io/v1alpha1\nkind: UsageAlert\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{metric: callCount, threshold: \"{threshold}\", window: 1h}}\n",
            },
        };
        var applied = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(configMap.ToJsonString(), V1Patch.PatchType.ApplyPatch),
            configMap["metadata"]!["name"]!.GetValue<string>(), Namespace, fieldManager: "by-hand", force: true);
        return await UntilAsync(ns, name, a => EvaluatedAs(a, threshold, applied), clock, $"hand-written threshold {threshold} of {ns}/{name}");
    }

    /// <summary>Evaluated with this threshold, by a cycle that started after the apply.</summary>
    private static bool EvaluatedAs(JsonElement? alert, string threshold, DateTime applied) =>
        alert is { } a && a.GetProperty("threshold").GetString() == threshold &&
        a.GetProperty("lastEvaluationTime") is { ValueKind: JsonValueKind.String } evaluated && evaluated.GetDateTime().ToUniversalTime() >= applied;

    private async Task<TimeSpan> UntilAsync(string ns, string name, Func<JsonElement?, bool> seen, Stopwatch clock, string what)
    {
        while (clock.Elapsed < Patience)
        {
            using var body = JsonDocument.Parse(await _http.GetStringAsync("/api/v1/alerts"));
            var alert = body.RootElement.GetProperty("alerts").EnumerateArray()
                .Where(a => a.GetProperty("namespace").GetString() == ns && a.GetProperty("name").GetString() == name)
                .Select(a => (JsonElement?)a).FirstOrDefault();
            if (seen(alert)) return clock.Elapsed;
            if (Operator.Process.HasExited) throw new InvalidOperationException($"the operator exited:\n{await Operator.OutputAsync()}");
            await Task.Delay(20);
        }
        throw new TimeoutException($"{what} not evaluated by the aggregator in {Patience.TotalSeconds} s:\n{Aggregator.Log}");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Operator.DisposeAsync();
        await Aggregator.DisposeAsync();
        await Api.DisposeAsync();
    }
}
