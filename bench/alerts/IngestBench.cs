using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dapper;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Metrics;
using AgentMeter.Entities.Domain;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Npgsql;

namespace AgentMeter.Bench.Alerts;

/// <summary>
/// Ingest throughput (POST /api/v1/events over loopback HTTP) with real-time metrics enabled beside
/// disabled, alternating rounds on the same database; the baseline is a raw binary COPY of the same
/// events. Also the observer's own cost per event, in isolation.
/// </summary>
public static class IngestBench
{
    private const int Batch = 1000, Batches = 300, WarmUp = 120;

    /// <summary>Prices of gpt-4o and claude-sonnet-4-5 (llama-70b stays unpriced), loaded by both hosts.</summary>
    private static readonly string CostRates = Path.Combine(AppContext.BaseDirectory, "costrates.yaml");

    private static string Model(int i) => (i % 3) switch { 0 => "gpt-4o", 1 => "claude-sonnet-4-5", _ => "llama-70b" };

    public static async Task RunAsync(string connectionString)
    {
        var batches = Enumerable.Range(0, Batches).Select(Json).ToList();
        var onOff = await CompareAsync(connectionString, batches, measuredMetrics: true);
        // A/A: the same procedure with metrics off on both hosts shows what it reports when nothing differs.
        var aa = await CompareAsync(connectionString, batches, measuredMetrics: false);
        var copy = new List<double>();
        for (var round = 0; round < 3; round++) copy.Add(await CopyAsync(connectionString));

        const int events = 2 * Batches * Batch;
        Console.WriteLine();
        Console.WriteLine($"## Ingest throughput, metrics on vs off: 2 × {Batches} batches of {Batch} tool_call events, each sent to both hosts back to back");
        Console.WriteLine("| configuration | events/s | median ms per batch |");
        Console.WriteLine("| --- | ---: | ---: |");
        Console.WriteLine($"| POST /api/v1/events, Metrics__Enabled=true | {onOff.MeasuredRate(events):N0} | {onOff.MeasuredMedian:F2} |");
        Console.WriteLine($"| POST /api/v1/events, Metrics__Enabled=false | {onOff.ReferenceRate(events):N0} | {onOff.ReferenceMedian:F2} |");
        Console.WriteLine($"| A/A: both hosts Metrics__Enabled=false, the one in the place of the host with metrics | {aa.MeasuredRate(events):N0} | {aa.MeasuredMedian:F2} |");
        Console.WriteLine($"| A/A: both hosts Metrics__Enabled=false, the other | {aa.ReferenceRate(events):N0} | {aa.ReferenceMedian:F2} |");
        Console.WriteLine($"| baseline: raw binary COPY into usage_events (median of 3) | {copy.Order().ElementAt(1):N0} | |");
        Console.WriteLine($"metrics overhead: {onOff.Overhead:P1} of ingest throughput (target < 10 %); " +
                          $"per start order: {string.Join(", ", onOff.PassOverheads.Select(o => o.ToString("P1")))}");
        Console.WriteLine($"A/A difference (noise of this procedure): {aa.Overhead:P1}; " +
                          $"per start order: {string.Join(", ", aa.PassOverheads.Select(o => o.ToString("P1")))}");
        var observerNs = ObserverCost();
        Console.WriteLine($"observer alone: {observerNs:F0} ns per tool_call event (in-memory, single thread) = " +
                          $"{observerNs / (1e9 / onOff.ReferenceRate(events)):P1} of the time ingest spends per event with metrics off");
    }

    /// <summary>Only the observer's cost per event (no database needed): quick to compare changes to it.</summary>
    public static void RunObserver() =>
        Console.WriteLine($"observer alone: {ObserverCost():F0} ns per tool_call event (in-memory, single thread, median of 15 rounds)");

    /// <summary>Milliseconds per batch of the measured host and the reference host (metrics off) on the same batches, per start order.</summary>
    private sealed record Comparison(List<double>[] Measured, List<double>[] Reference)
    {
        public double MeasuredRate(int events) => events / (Measured.Sum(p => p.Sum()) / 1000);
        public double ReferenceRate(int events) => events / (Reference.Sum(p => p.Sum()) / 1000);
        public double MeasuredMedian => Median(Measured.SelectMany(p => p));
        public double ReferenceMedian => Median(Reference.SelectMany(p => p));

        /// <summary>Share of throughput lost by the measured host: 1 − reference time ÷ measured time.</summary>
        public double Overhead => 1 - Reference.Sum(p => p.Sum()) / Measured.Sum(p => p.Sum());

        public IEnumerable<double> PassOverheads => Measured.Zip(Reference, (m, r) => 1 - r.Sum() / m.Sum());

        private static double Median(IEnumerable<double> values) => values.Order().ElementAt(values.Count() / 2);
    }

    /// <summary>
    /// Two hosts in one process are not quite alike (the one started first or second can be several per cent
    /// faster), so the run is made twice with the start order swapped and the times added up.
    /// </summary>
    private static async Task<Comparison> CompareAsync(string connectionString, List<string> batches, bool measuredMetrics)
    {
        var measured = new[] { new List<double>(), new List<double>() };
        var reference = new[] { new List<double>(), new List<double>() };
        // Which host gets a batch first is drawn at random (seeded: every run alike) rather than strictly alternated,
        // so nothing periodic in the process — a garbage collection every few requests — can fall on one host only.
        var random = new Random(4);
        foreach (var (pass, measuredFirst) in new[] { (0, true), (1, false) })
        {
            await using var first = await IngestHost.StartAsync(connectionString, metrics: measuredFirst && measuredMetrics);
            await using var second = await IngestHost.StartAsync(connectionString, metrics: !measuredFirst && measuredMetrics);
            var (m, r) = measuredFirst ? (first, second) : (second, first);
            // Warm-up (JIT tiers, connection pools, partitions), then paired: each batch goes to both hosts back to
            // back, so background load on this shared machine hits both alike. The observer runs once per batch, on
            // one host only: timed inside the app, its first ~100 calls ran unoptimized code at ~2.5× its steady
            // cost, which 20 warm-up batches left in the figure.
            for (var i = 0; i < WarmUp; i++)
                foreach (var host in random.Next(2) == 0 ? new[] { m, r } : [r, m])
                    await host.PostAsync(batches[i % batches.Count]);
            for (var i = 0; i < batches.Count; i++)
                foreach (var host in random.Next(2) == 0 ? new[] { m, r } : [r, m])
                {
                    var sw = Stopwatch.StartNew();
                    await host.PostAsync(batches[i]);
                    (host == m ? measured : reference)[pass].Add(sw.Elapsed.TotalMilliseconds);
                }
        }
        return new Comparison(measured, reference);
    }

    /// <summary>An aggregator app on a loopback port with metrics switched on or off.</summary>
    private sealed class IngestHost(WebApplication app, HttpClient client) : IAsyncDisposable
    {
        public static async Task<IngestHost> StartAsync(string connectionString, bool metrics)
        {
            var cli = CommandLine.Parse(["serve", "--urls", "http://127.0.0.1:0", "--resources", CostRates]);
            var app = AggregatorApp.Build(cli, b =>
            {
                b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = connectionString;
                b.Configuration["Metrics:Enabled"] = metrics ? "true" : "false";
                b.Configuration["Alerts:EvaluatorEnabled"] = "false";
                b.Configuration["Webhooks:DispatcherEnabled"] = "false";
                b.Configuration["Otlp:GrpcPort"] = "0"; // not measured here
                b.Logging.SetMinimumLevel(LogLevel.Warning);
            });
            await app.Services.MigrateAsync();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new IngestHost(app, new HttpClient { BaseAddress = new Uri(address) });
        }

        public Task PostAsync(string body) => IngestBench.PostAsync(client, body);

        public async ValueTask DisposeAsync()
        {
            client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task PostAsync(HttpClient client, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var response = await client.PostAsync("/api/v1/events", content);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"ingest answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static string Json(int batch) => JsonSerializer.Serialize(Enumerable.Range(0, Batch).Select(i => new Dictionary<string, object?>
    {
        ["type"] = "tool_call",
        ["time"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"),
        ["agent_id"] = $"agent-{i % 40}",
        ["tool_name"] = $"tool-{i % 25}",
        ["server_label"] = $"server-{i % 7}",
        ["user_id"] = $"user-{i % 100}",
        ["tenant_id"] = $"tenant-{i % 4}",
        ["model"] = Model(i),
        ["status"] = i % 20 == 0 ? "failure" : "success",
        ["latency_ms"] = 5 + (batch * 7 + i) % 3000,
        ["request_bytes"] = 2000 + i,
        ["response_bytes"] = 8000 + i,
    }));

    private static async Task<double> CopyAsync(string connectionString)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        var time = DateTime.UtcNow.AddMinutes(-1);
        const int n = Batch * 100;
        // The batches' partition is not today's when the run crosses midnight.
        await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition(@day)", new { day = DateOnly.FromDateTime(time) });
        var sw = Stopwatch.StartNew();
        await using (var w = await conn.BeginBinaryImportAsync(
            "COPY usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, model, status, latency_ms, request_bytes, response_bytes) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < n; i++)
            {
                await w.StartRowAsync();
                await w.WriteAsync(time, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                await w.WriteAsync("tool_call");
                await w.WriteAsync($"agent-{i % 40}");
                await w.WriteAsync($"tool-{i % 25}");
                await w.WriteAsync($"server-{i % 7}");
                await w.WriteAsync($"user-{i % 100}");
                await w.WriteAsync($"tenant-{i % 4}");
                await w.WriteAsync("gpt-4o");
                await w.WriteAsync(i % 20 == 0 ? "failure" : "success");
                await w.WriteAsync(5.0 + i % 3000);
                await w.WriteAsync(2000L + i);
                await w.WriteAsync(8000L + i);
            }
            await w.CompleteAsync();
        }
        return n / sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The observer alone, as on the request path: inside a traced request (ASP.NET Core's tracing makes the
    /// request's Activity current), with the sample prices loaded, on batches whose strings are fresh instances
    /// as a parsed request's are (not one batch of shared strings that stays in the CPU cache).
    /// </summary>
    private static double ObserverCost()
    {
        var store = new AgentMeter.Aggregator.Resources.ResourceStore(new() { Paths = [CostRates] },
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AgentMeter.Aggregator.Resources.ResourceStore>.Instance, TimeProvider.System);
        if (!store.Reload() || store.Current.CostRates.Count == 0) throw new InvalidOperationException($"no CostRates loaded from {CostRates}");
        var observer = new MetricsIngestObserver(new RegistryMetrics(new MetricsOptions()), new RealtimeCostEstimator(store));
        var batches = Enumerable.Range(0, 50).Select(b => Enumerable.Range(0, Batch).Select(i => new UsageEvent
        {
            Type = EventTypes.ToolCall, Time = DateTimeOffset.UtcNow, AgentId = $"agent-{i % 40}", ToolName = $"tool-{i % 25}",
            ServerLabel = $"server-{i % 7}", Model = new string(Model(i)), Status = i % 20 == 0 ? "failure" : "success",
            LatencyMs = 5 + (b * 7 + i) % 3000, RequestBytes = 2000 + i, ResponseBytes = 8000 + i,
        }).ToList()).ToList();
        using var source = new ActivitySource("AgentMeter.Bench.Alerts");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var request = source.StartActivity("POST /api/v1/events");
        // Warm-up long enough for the JIT's optimized tier, then the median of rounds over all batches.
        for (var i = 0; i < 2000; i++) observer.OnCommitted(batches[i % batches.Count]);
        var rounds = new List<double>();
        for (var round = 0; round < 15; round++)
        {
            var sw = Stopwatch.StartNew();
            foreach (var batch in batches) observer.OnCommitted(batch);
            rounds.Add(sw.Elapsed.TotalNanoseconds / (batches.Count * Batch));
        }
        return rounds.Order().ElementAt(rounds.Count / 2);
    }
}
