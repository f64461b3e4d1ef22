using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
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
    private const int Batch = 1000, BatchesPerRound = 100, Rounds = 3, Senders = 2;

    public static async Task RunAsync(string connectionString)
    {
        var batches = Enumerable.Range(0, BatchesPerRound).Select(Json).ToList();
        var results = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        for (var round = 0; round < Rounds; round++)
            foreach (var enabled in new[] { true, false })
                results[enabled].Add(await RoundAsync(connectionString, enabled, batches));
        var copy = new List<double>();
        for (var round = 0; round < Rounds; round++) copy.Add(await CopyAsync(connectionString));

        var on = Median(results[true]);
        var off = Median(results[false]);
        Console.WriteLine();
        Console.WriteLine($"## Ingest throughput, metrics on vs off: {Rounds} alternating rounds of {BatchesPerRound} × {Batch} tool_call events, {Senders} concurrent senders");
        Console.WriteLine("| configuration | events/s (median) | rounds |");
        Console.WriteLine("| --- | ---: | --- |");
        Console.WriteLine($"| POST /api/v1/events, Metrics__Enabled=true | {on:N0} | {string.Join(", ", results[true].Select(x => x.ToString("N0")))} |");
        Console.WriteLine($"| POST /api/v1/events, Metrics__Enabled=false | {off:N0} | {string.Join(", ", results[false].Select(x => x.ToString("N0")))} |");
        Console.WriteLine($"| baseline: raw binary COPY into usage_events | {Median(copy):N0} | {string.Join(", ", copy.Select(x => x.ToString("N0")))} |");
        Console.WriteLine($"metrics overhead: {(off - on) / off:P1} of ingest throughput (target < 10 %)");
        ObserverCost();
    }

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    private static async Task<double> RoundAsync(string connectionString, bool metrics, List<string> batches)
    {
        var cli = CommandLine.Parse(["serve", "--urls", "http://127.0.0.1:0"]);
        var app = AggregatorApp.Build(cli, b =>
        {
            b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = connectionString;
            b.Configuration["Metrics:Enabled"] = metrics ? "true" : "false";
            b.Configuration["Alerts:EvaluatorEnabled"] = "false";
            b.Configuration["Webhooks:DispatcherEnabled"] = "false";
            b.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await app.Services.MigrateAsync();
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            // Warm-up: JIT, connection pool, partitions.
            await PostAsync(client, batches[0]);
            var next = -1;
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Senders).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < batches.Count) await PostAsync(client, batches[i]);
            }));
            return batches.Count * Batch / sw.Elapsed.TotalSeconds;
        }
        finally
        {
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
        ["model"] = (i % 3) switch { 0 => "gpt-4o", 1 => "claude-sonnet", _ => "llama-70b" },
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
        const int n = Batch * BatchesPerRound;
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

    /// <summary>The observer alone: what metrics add per event on the ingest request path.</summary>
    private static void ObserverCost()
    {
        var store = new AgentMeter.Aggregator.Resources.ResourceStore(new() { Paths = [] },
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AgentMeter.Aggregator.Resources.ResourceStore>.Instance, TimeProvider.System);
        var observer = new MetricsIngestObserver(new RegistryMetrics(new MetricsOptions()), new RealtimeCostEstimator(store));
        var events = Enumerable.Range(0, Batch).Select(i => new UsageEvent
        {
            Type = EventTypes.ToolCall, Time = DateTimeOffset.UtcNow, AgentId = $"agent-{i % 40}", ToolName = $"tool-{i % 25}",
            ServerLabel = $"server-{i % 7}", Model = "gpt-4o", Status = "success", LatencyMs = i, RequestBytes = 2000, ResponseBytes = 8000,
        }).ToList();
        for (var i = 0; i < 50; i++) observer.OnCommitted(events);
        var sw = Stopwatch.StartNew();
        const int reps = 500;
        for (var i = 0; i < reps; i++) observer.OnCommitted(events);
        Console.WriteLine($"observer alone: {sw.Elapsed.TotalNanoseconds / (reps * Batch):F0} ns per tool_call event (in-memory, single thread)");
    }
}
