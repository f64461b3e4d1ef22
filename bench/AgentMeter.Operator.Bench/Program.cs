using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentMeter.Testing.FakeApi;
using AgentMeter.Testing.Processes;
using k8s;
using k8s.Models;

// Operator benchmark: N UsageAlerts in M namespaces against the in-process fake API server, reconciled to
// PrometheusRules and status by the real agentmeter-operator process: the Native AOT binary (what the image ships,
// `make publish-operator`) and, in the same run, the JIT build. Baseline in the same run: a hand-written
// loop doing the minimum writes (one apply per rule, one status apply per alert) with the same client.
// Usage: dotnet run -c Release --project bench/AgentMeter.Operator.Bench -- [alerts] [namespaces] [KEY=VALUE for the operator's environment ...]
var alerts = args.Length > 0 ? int.Parse(args[0]) : 1000;
var namespaces = args.Length > 1 ? int.Parse(args[1]) : 50;
var settings = args.Skip(2).ToList();
var builds = new (string Label, string Path, string[] Command)[]
{
    ("Native AOT", OperatorProcess.NativeBinary, []),
    ("JIT", OperatorProcess.JitAssembly("Release"), ["dotnet"]),
};
foreach (var (label, path, _) in builds)
    if (!File.Exists(path)) { Console.Error.WriteLine($"{label} operator missing at {path}: run `make bench-operator` (publishes and builds both)"); return 2; }
var names = Enumerable.Range(0, alerts).Select(i => (Ns: $"team-{i % namespaces:D2}", Name: $"alert-{i:D4}")).ToList();

var rows = new List<string>();
foreach (var (label, path, command) in builds)
{
    var row = await RunOperatorAsync(label, command.Append(path).ToArray());
    if (row is null) return 1;
    rows.Add(row);
}

// Baseline: the minimum a controller must send, hand-written, same client and server.
await using (var api = await FakeApiServer.StartAsync())
{
    var client = api.CreateTestClient();
    foreach (var (ns, name) in names) await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert(ns, name), "agentmeter.io", "v1alpha1", ns, "usagealerts");
    var baselineStart = api.Requests.Count;
    var baselineClock = Stopwatch.StartNew();
    var raw = api.CreateClient();
    foreach (var (ns, name) in names)
    {
        var rule = new JsonObject
        {
            ["apiVersion"] = "monitoring.coreos.com/v1", ["kind"] = "PrometheusRule",
            ["metadata"] = new JsonObject { ["name"] = $"baseline-{name}", ["namespace"] = ns },
            ["spec"] = new JsonObject { ["groups"] = new JsonArray(new JsonObject { ["name"] = name, ["rules"] = new JsonArray(new JsonObject { ["alert"] = "A", ["expr"] = "vector(1) > 0" }) }) },
        };
        await raw.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(rule.ToJsonString(), V1Patch.PatchType.ApplyPatch), "monitoring.coreos.com", "v1", ns, "prometheusrules", $"baseline-{name}", fieldManager: "baseline", force: true);
        var status = new JsonObject
        {
            ["apiVersion"] = "agentmeter.io/v1alpha1", ["kind"] = "UsageAlert", ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["status"] = new JsonObject { ["state"] = "Unknown" },
        };
        await raw.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(status.ToJsonString(), V1Patch.PatchType.ApplyPatch), "agentmeter.io", "v1alpha1", ns, "usagealerts", name, fieldManager: "baseline", force: true);
    }
    rows.Add($"| baseline: hand-written apply loop | {alerts} | {namespaces} | {baselineClock.Elapsed.TotalSeconds:F1} s | {api.Requests.Count - baselineStart} | – | – | – |");
}

Console.WriteLine("| run | alerts | namespaces | time to converge | API requests | writes at rest (3 s) | peak RSS | RSS at rest: anon / file-backed / shmem |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
foreach (var row in rows) Console.WriteLine(row);
return 0;

JsonObject Alert(string ns, string name)
{
    var metric = new[] { "tokens", "callCount", "errorRate", "p95LatencyMs" }[names.IndexOf((ns, name)) % 4];
    return new JsonObject
    {
        ["apiVersion"] = "agentmeter.io/v1alpha1", ["kind"] = "UsageAlert",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["metric"] = metric, ["threshold"] = metric == "errorRate" ? "0.05" : "1000", ["window"] = "1h",
            ["groupBy"] = metric == "tokens" ? "agent" : "tool",
        },
    };
}

/// One operator build against a fresh fake API server holding the alerts: time and requests to converge, peak RSS.
async Task<string?> RunOperatorAsync(string label, string[] command)
{
    await using var api = await FakeApiServer.StartAsync();
    await using var aggregator = await AggregatorStub.StartAsync();
    var client = api.CreateTestClient();
    foreach (var (ns, name) in names)
    {
        aggregator.SetAlert(ns, name, "Ok", "1");
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert(ns, name), "agentmeter.io", "v1alpha1", ns, "usagealerts");
    }
    var environment = new Dictionary<string, string>
    {
        ["Operator__Namespace"] = "agentmeter",
        ["Operator__StatusSyncPeriod"] = "00:00:01",
        ["Aggregator__Url"] = aggregator.Url.ToString(),
        ["Logging__LogLevel__Default"] = "Warning",
    };
    // The alerts are cluster-wide ones (their namespaces are listed as such), so each gets its PrometheusRule.
    foreach (var (ns, i) in names.Select(n => n.Ns).Distinct().Select((ns, i) => (ns, i)))
        environment[$"Operator__Tenancy__ClusterWideNamespaces__{i}"] = ns;
    foreach (var setting in settings)
    {
        var eq = setting.IndexOf('=');
        environment[setting[..eq]] = setting[(eq + 1)..];
    }
    var before = api.Requests.Count;
    var clock = Stopwatch.StartNew();
    await using var running = OperatorProcess.Start(api, command, environment);
    var operatorProcess = running.Process;
    long peakKb = 0;
    bool Done() =>
        api.List("prometheusrules").Count == alerts &&
        api.Get("servicemonitors", "agentmeter", "agentmeter-aggregator") is not null &&
        // Every namespace's hand-off ConfigMap holds its last alert (the shards are written per namespace).
        names.GroupBy(n => n.Ns).All(g => (api.Get("configmaps", "agentmeter", $"agentmeter-resources-{g.Key}")?["data"]?["resources.yaml"]?.GetValue<string>() ?? "").Contains($"name: {g.Last().Name}\n")) &&
        api.List("usagealerts").All(a => (a["status"]?["conditions"] as JsonArray)?.Any(c => c?["type"]?.GetValue<string>() == "StatusSynced" && c["status"]?.GetValue<string>() == "True") == true);
    while (!Done())
    {
        if (operatorProcess.HasExited) { Console.Error.WriteLine($"{label} operator exited early:\n{await running.OutputAsync()}"); return null; }
        if (clock.Elapsed > TimeSpan.FromMinutes(10)) { Console.Error.WriteLine($"{label} operator not converged in 10 minutes"); return null; }
        peakKb = Math.Max(peakKb, PeakRssKb(operatorProcess.Id));
        await Task.Delay(100);
    }
    var operatorTime = clock.Elapsed;
    // Steady state: one more resync period's worth of watching for stray writes.
    var settledRequests = api.Requests.Skip(before).ToList();
    await Task.Delay(TimeSpan.FromSeconds(3));
    peakKb = Math.Max(peakKb, PeakRssKb(operatorProcess.Id));
    // Peak RSS = anonymous + file-backed + shared memory; the JIT maps compiled code through a memfd (shared).
    var (anonKb, fileKb, shmemKb) = (Status(operatorProcess.Id, "RssAnon:"), Status(operatorProcess.Id, "RssFile:"), Status(operatorProcess.Id, "RssShmem:"));
    var writesAfter = api.Requests.Skip(before + settledRequests.Count).Count(r => r.IsWrite && r.Resource != "leases");

    var byVerb = settledRequests.GroupBy(r => r.Verb).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}");
    var extra = settings.Count > 0 ? ", " + string.Join(" ", settings) : "";
    return $"| agentmeter-operator ({label}{extra}) | {alerts} | {namespaces} | {operatorTime.TotalSeconds:F1} s | {settledRequests.Count} ({string.Join(", ", byVerb)}) | {writesAfter} | {peakKb / 1024.0:F1} MB | {anonKb / 1024.0:F1} MB / {fileKb / 1024.0:F1} MB / {shmemKb / 1024.0:F1} MB |";
}

static long PeakRssKb(int pid) => Status(pid, "VmHWM:");

static long Status(int pid, string field)
{
    try
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }
    catch (IOException) { return 0; }
}
