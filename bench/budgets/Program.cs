// Budgets benchmark (docs/budgets.md).
//   dotnet run -c Release --project bench/budgets -- check [--budgets 500] [--workers 4] [--seconds 10] [--requests 5000]
//     GET /api/v1/budgets/check as clients see it: curl (a separate process, one kept-alive connection, time of each
//     transfer) and a concurrent in-process loop, each beside GET /healthz of the same server (the floor of any request).
//     Uses ConnectionStrings__Postgres when set, else a private PostgreSQL from the machine's binaries.
//   dotnet run -c Release --project bench/budgets -- backtest [--series 200] [--months 13] [--seed 7]
//     MAPE of the forecast's projected month total on generated spend.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentMeter.Aggregator.Budgets;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Bench.Analytics;
using AgentMeter.Bench.Budgets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

if (args.FirstOrDefault() == "backtest")
{
    Backtest.Run(Option("--series", 200), Option("--months", 13), Option("--seed", 7));
    return;
}

var budgets = Option("--budgets", 500);
var workers = Option("--workers", 4);
var seconds = Option("--seconds", 10);
var requests = Option("--requests", 5000);
const string token = "bench-admin-token";

PostgresLauncher? launcher = null;
var server = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
if (string.IsNullOrEmpty(server))
{
    launcher = await PostgresLauncher.StartAsync(Path.Combine(Path.GetTempPath(), $"agentmeter-bench-{Environment.ProcessId}"));
    server = launcher.ConnectionString;
}
var cs = launcher is not null ? await launcher.EnsureDatabaseAsync($"bench_budgets_{Environment.ProcessId}") : server;
await using var db = NpgsqlDataSource.Create(cs);
await new Migrator(db, NullLogger<Migrator>.Instance).MigrateAsync();

// Budgets of 50 tenants: per tenant, one for everything and the rest per model or agent; a third are exceeded.
var tenants = Enumerable.Range(0, 50).Select(i => $"tenant-{i:D2}").ToArray();
string[] models = ["gpt-4o", "claude-sonnet", "gemini-pro", "llama-70b"];
var yaml = new StringBuilder();
for (var i = 0; i < budgets; i++)
{
    var tenant = tenants[i % tenants.Length];
    var filter = (i / tenants.Length) switch
    {
        0 => $"{{tenantId: {tenant}}}",
        var k when k % 2 == 1 => $"{{tenantId: {tenant}, model: {models[k % models.Length]}}}",
        var k => $"{{tenantId: {tenant}, agentId: agent-{k % 7}}}",
    };
    var amount = i % 3 == 0 ? 100 : 100_000;
    yaml.Append($"apiVersion: agentmeter.io/v1alpha1\nkind: Budget\nmetadata: {{name: budget-{i}, namespace: team-{i % tenants.Length}}}\n")
        .Append($"spec: {{amount: \"{amount}\", filter: {filter}}}\n---\n");
}
var folder = Directory.CreateTempSubdirectory("agentmeter-bench-budgets-");
File.WriteAllText(Path.Combine(folder.FullName, "budgets.yaml"), yaml.ToString());
await using (var seed = db.CreateCommand(
    """
    INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count, failure_count,
                             total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens,
                             estimated_cost, currency)
    SELECT d::date, 'agent-' || a, 'search', 'github', 'user-1', 'tenant-' || lpad(t::text, 2, '0'), m, 10, 10, 0, 0, 0, 0, '{}', 0, 0, 7.5, 'USD'
    FROM generate_series(current_date - 40, current_date, '1 day') d, generate_series(0, 49) t, generate_series(0, 6) a,
         unnest(ARRAY['gpt-4o', 'claude-sonnet', 'gemini-pro', 'llama-70b']) m
    ON CONFLICT DO NOTHING
    """)) await seed.ExecuteNonQueryAsync();

var app = AggregatorApp.Build(CommandLine.Parse(["serve", "--urls", "http://127.0.0.1:0", "--resources", folder.FullName]), b =>
{
    b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = cs;
    b.Configuration["Otlp:GrpcPort"] = "0";
    b.Configuration["Auth:AdminToken"] = token;
    b.Configuration["Budgets:EvaluatorEnabled"] = "false";
    b.Logging.SetMinimumLevel(LogLevel.Warning);
});
await app.Services.MigrateAsync();
await app.StartAsync();
var started = Stopwatch.StartNew();
await app.Services.GetRequiredService<BudgetEvaluator>().EvaluateAllAsync(CancellationToken.None);
Console.WriteLine($"{budgets} budgets evaluated in {started.Elapsed.TotalMilliseconds:F0} ms");
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

var random = new Random(42);
string CheckPath() =>
    $"/api/v1/budgets/check?tenant={tenants[random.Next(tenants.Length)]}&agent=agent-{random.Next(7)}&user=user-1&model={models[random.Next(models.Length)]}";
var paths = Enumerable.Range(0, requests).Select(_ => CheckPath()).ToArray();

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers * 2 }) { BaseAddress = new Uri(address) };
http.DefaultRequestHeaders.Authorization = new("Bearer", token);
var denials = 0;
foreach (var path in paths.Take(200))
    if ((await http.GetStringAsync(path)).Contains("\"allow\":false", StringComparison.Ordinal)) denials++;
Console.WriteLine($"{denials} of 200 checks denied (a third of the budgets are exceeded)");

var rows = new List<(string Name, int Requests, double PerSecond, double P50, double P99)>();
if (Curl(paths, "GET /api/v1/budgets/check") is { } curlCheck) rows.Add(curlCheck);
if (Curl(Enumerable.Repeat("/healthz", requests).ToArray(), "GET /healthz (baseline)") is { } curlHealth) rows.Add(curlHealth);
var next = 0;
foreach (var (name, path) in new (string, Func<string>)[]
         {
             ($"GET /api/v1/budgets/check, {workers} concurrent in-process clients", () => paths[Interlocked.Increment(ref next) % paths.Length]),
             ($"GET /healthz (baseline), {workers} concurrent in-process clients", () => "/healthz"),
         })
{
    var r = await Load.RunAsync(name, workers, TimeSpan.FromSeconds(seconds), async () =>
    {
        using var response = await http.GetAsync(path());
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync();
    });
    rows.Add((name, r.Requests, r.PerSecond, r.P50Ms, r.P99Ms));
}

Console.WriteLine();
Console.WriteLine($"{budgets} budgets, {Environment.ProcessorCount} cores");
Console.WriteLine("| client | requests | req/s | p50 ms | p99 ms |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
foreach (var r in rows) Console.WriteLine($"| {r.Name} | {r.Requests} | {r.PerSecond:F0} | {r.P50:F3} | {r.P99:F3} |");

await app.StopAsync();
await app.DisposeAsync();
folder.Delete(recursive: true);
if (launcher is not null) await launcher.DisposeAsync();

// One curl process, one kept-alive connection, the given paths in order; the time of each transfer as curl measures it.
(string, int, double, double, double)? Curl(string[] list, string name)
{
    var config = Path.Combine(folder.FullName, "curl.config");
    var text = new StringBuilder($"silent\nfail\nheader = \"Authorization: Bearer {token}\"\nwrite-out = \"%{{time_total}}\\n\"\n");
    foreach (var p in list) text.Append($"url = \"{address}{p}\"\noutput = \"/dev/null\"\n");
    File.WriteAllText(config, text.ToString());
    try
    {
        using var curl = Process.Start(new ProcessStartInfo("curl", ["--config", config]) { RedirectStandardOutput = true })!;
        var wall = Stopwatch.StartNew();
        var times = curl.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => double.Parse(t, CultureInfo.InvariantCulture) * 1000).Skip(1).Order().ToArray(); // the first one connects
        curl.WaitForExit();
        if (curl.ExitCode != 0 || times.Length == 0) throw new InvalidOperationException($"curl exited with {curl.ExitCode}");
        double At(double q) => times[Math.Clamp((int)Math.Ceiling(q * times.Length) - 1, 0, times.Length - 1)];
        return ($"{name}, curl (1 connection)", times.Length, times.Length / wall.Elapsed.TotalSeconds, At(0.5), At(0.99));
    }
    catch (System.ComponentModel.Win32Exception)
    {
        Console.WriteLine("curl not found: the curl rows are left out");
        return null;
    }
}

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
}
