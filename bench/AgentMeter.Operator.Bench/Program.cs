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
//        ... -- apply-to-evaluated [changes]: see ApplyToEvaluatedAsync.
if (args.Length > 0 && args[0] == "apply-to-evaluated") return await ApplyToEvaluatedAsync(args.Length > 1 ? int.Parse(args[1]) : 50);
var alerts = args.Length > 0 ? int.Parse(args[0]) : 1000;
var namespaces = args.Length > 1 ? int.Parse(args[1]) : 50;
var settings = args.Skip(2).ToList();
var builds = new (string Label, string Path, string[] Command)[]
{
    ("Native AOT", OperatorProcess.NativeBinary, []),
    ("JIT", OperatorProcess.JitAssembly("Release"), ["dotnet"]),
};
// BENCH_BUILD=JIT or "Native AOT" runs that one build alone (a quicker look at one setting).
if (Environment.GetEnvironmentVariable("BENCH_BUILD") is { Length: > 0 } only) builds = builds.Where(b => b.Label == only).ToArray();
foreach (var (label, path, _) in builds)
    if (!File.Exists(path)) { Console.Error.WriteLine($"{label} operator missing at {path}: run `make bench-operator` (publishes and builds both)"); return 2; }
var names = Enumerable.Range(0, alerts).Select(i => (Ns: $"team-{i % namespaces:D2}", Name: $"alert-{i:D4}")).ToList();

var rows = new List<string>();
var statusRows = new List<string>();
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
    foreach (var (i, (ns, _)) in names.Index()) await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert(i), "agentmeter.io", "v1alpha1", ns, "usagealerts");
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

Console.WriteLine("| run | alerts | namespaces | time to converge | API requests | writes at rest (5 s) | peak RSS | RSS at rest: anon / file-backed / shmem |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
foreach (var row in rows) Console.WriteLine(row);
Console.WriteLine();
Console.WriteLine("| status at scale | alerts | every status current after two new states 0.5 s apart | status writes | events | writes at rest after (5 s) |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
foreach (var row in statusRows) Console.WriteLine(row);
return 0;

JsonObject Alert(int index)
{
    var (ns, name) = names[index];
    var metric = new[] { "tokens", "callCount", "errorRate", "p95LatencyMs" }[index % 4];
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
    foreach (var (i, (ns, name)) in names.Index())
    {
        aggregator.SetAlert(ns, name, "Ok", "1");
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(Alert(i), "agentmeter.io", "v1alpha1", ns, "usagealerts");
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
    bool Done() =>
        api.List("prometheusrules").Count == alerts &&
        api.Get("servicemonitors", "agentmeter", "agentmeter-aggregator") is not null &&
        // Every namespace's hand-off ConfigMap holds its last alert (the shards are written per namespace).
        names.GroupBy(n => n.Ns).All(g => (api.Get("configmaps", "agentmeter", $"agentmeter-resources-{g.Key}")?["data"]?["resources.yaml"]?.GetValue<string>() ?? "").Contains($"name: {g.Last().Name}\n")) &&
        api.List("usagealerts").All(a => (a["status"]?["conditions"] as JsonArray)?.Any(c => c?["type"]?.GetValue<string>() == "StatusSynced" && c["status"]?.GetValue<string>() == "True") == true);
    // The checks clone objects under the fake server's lock: polled less often for more alerts, so they stay a small
    // share of its time. The peak is the kernel's high-water mark, so polling less often loses none of it.
    var poll = TimeSpan.FromMilliseconds(Math.Max(100, alerts / 20));
    if (!await UntilAsync(Done, "converged")) return null;
    var operatorTime = clock.Elapsed;
    // Steady state: watching for stray writes.
    var settledRequests = api.Requests.Skip(before).ToList();
    var writesAtRest = await WritesAtRestAsync();

    // Status at scale: the aggregator reports a new state for every alert, then a newer one half a second later,
    // before the operator can have written them all. Converged = every status shows the newer state; the writes
    // show whether the per-object coalescing wrote each alert once or twice, and nothing is written after.
    var waveStart = api.Requests.Count;
    var waveClock = Stopwatch.StartNew();
    foreach (var (ns, name) in names) aggregator.SetAlert(ns, name, "Firing", "2", "agent-a");
    await Task.Delay(500);
    foreach (var (ns, name) in names) aggregator.SetAlert(ns, name, "Firing", "3", "agent-a");
    if (!await UntilAsync(() => api.List("usagealerts").All(a => a["status"]?["currentValue"]?.GetValue<string>() == "3"), "every status current")) return null;
    var waveTime = waveClock.Elapsed;
    var wave = api.Requests.Skip(waveStart).ToList();
    var statusWrites = wave.Count(r => r is { Resource: "usagealerts/status", IsWrite: true });
    var events = wave.Count(r => r is { Resource: "events", IsWrite: true });
    var writesAtRestAfterWave = await WritesAtRestAsync();

    // Peak RSS = anonymous + file-backed + shared memory; the JIT maps compiled code through a memfd (shared).
    var peakKb = PeakRssKb(operatorProcess.Id);
    var (anonKb, fileKb, shmemKb) = (Status(operatorProcess.Id, "RssAnon:"), Status(operatorProcess.Id, "RssFile:"), Status(operatorProcess.Id, "RssShmem:"));
    var byVerb = settledRequests.GroupBy(r => r.Verb).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}");
    var extra = settings.Count > 0 ? ", " + string.Join(" ", settings) : "";
    statusRows.Add($"| agentmeter-operator ({label}{extra}) | {alerts} | {waveTime.TotalSeconds:F1} s | {statusWrites} | {events} | {writesAtRestAfterWave} |");
    return $"| agentmeter-operator ({label}{extra}) | {alerts} | {namespaces} | {operatorTime.TotalSeconds:F1} s | {settledRequests.Count} ({string.Join(", ", byVerb)}) | {writesAtRest} | {peakKb / 1024.0:F1} MB | {anonKb / 1024.0:F1} MB / {fileKb / 1024.0:F1} MB / {shmemKb / 1024.0:F1} MB |";

    async Task<bool> UntilAsync(Func<bool> done, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!done())
        {
            if (operatorProcess.HasExited) { Console.Error.WriteLine($"{label} operator exited early:\n{await running.OutputAsync()}"); return false; }
            if (waited.Elapsed > TimeSpan.FromMinutes(10)) { Console.Error.WriteLine($"{label} operator: not {what} in 10 minutes"); return false; }
            await Task.Delay(poll);
        }
        return true;
    }

    // Writes (the Lease's renewals aside) during a rest of 5 s: more than the status sync period, so a sync that
    // kept writing would show.
    async Task<int> WritesAtRestAsync()
    {
        var from = api.Requests.Count;
        await Task.Delay(TimeSpan.FromSeconds(5));
        return api.Requests.Skip(from).Count(r => r.IsWrite && r.Resource != "leases");
    }
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

// Apply to evaluated: the Native AOT operator and the real aggregator on the fake API server (ApplyToEvaluated, the
// hand-off tests' rig). Each round creates an alert, changes its threshold and deletes it, each step timed until the
// aggregator's /api/v1/alerts shows it evaluated so. Baseline in the same run: the hand-off ConfigMap written by
// hand (no operator), timed the same way, so the difference is the operator's share.
static async Task<int> ApplyToEvaluatedAsync(int rounds)
{
    if (!File.Exists(OperatorProcess.NativeBinary)) { Console.Error.WriteLine($"Native AOT operator missing at {OperatorProcess.NativeBinary}: run `make bench-operator`"); return 2; }
    await using var loop = await ApplyToEvaluated.StartAsync([OperatorProcess.NativeBinary], ["bench"]);
    // The first alert once both run: their start is not what is measured.
    await loop.CreateAsync("bench", "warm-up", "1");
    var (created, changed, deleted, byHand) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
    for (var i = 0; i < rounds; i++)
    {
        created.Add((await loop.CreateAsync("bench", $"alert-{i}", "10")).TotalSeconds);
        changed.Add((await loop.ChangeAsync("bench", $"alert-{i}", "20")).TotalSeconds);
        deleted.Add((await loop.DeleteAsync("bench", $"alert-{i}")).TotalSeconds);
        byHand.Add((await loop.HandOffByHandAsync("by-hand", "alert", $"{i + 1}")).TotalSeconds);
    }
    Console.WriteLine("| apply → evaluated by the aggregator | n | p50 | p90 | p99 | max |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
    foreach (var (label, seconds) in new[] { ("UsageAlert created", created), ("threshold changed", changed), ("UsageAlert deleted", deleted), ("baseline: hand-off ConfigMap written by hand", byHand) })
    {
        var sorted = seconds.Order().ToList();
        double At(double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
        Console.WriteLine($"| {label} | {sorted.Count} | {At(0.5):F2} s | {At(0.9):F2} s | {At(0.99):F2} s | {sorted[^1]:F2} s |");
    }
    return 0;
}
