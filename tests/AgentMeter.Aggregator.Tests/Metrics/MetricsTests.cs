using System.Diagnostics;
using System.Net;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Metrics;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Trace;

namespace AgentMeter.Aggregator.Tests.Metrics;

public class BoundedLabelTests
{
    [Fact]
    public void ValuesBeyondTheBoundFoldIntoOtherAndAreCountedOnce()
    {
        var metrics = new RegistryMetrics(new MetricsOptions { MaxLabelValues = 3 });
        var folded = Prometheus.Metrics.WithCustomRegistry(metrics.Registry)
            .CreateCounter("agentmeter_metrics_folded_series_total", "", "metric", "label");
        var label = new BoundedLabel(3, folded.WithLabels("m", "l"));
        Assert.Equal(["a", "b", "c", "other", "other", "a", "other"], new[] { "a", "b", "c", "d", "e", "a", "d" }.Select(label.Apply));
        Assert.Equal(2, folded.WithLabels("m", "l").Value);
    }
}

public class SeriesCacheTests
{
    [Fact]
    public void PastTheBoundSeriesAreMadeAfreshAndStillCountInTheSamePrometheusSeries()
    {
        var metrics = new RegistryMetrics(new MetricsOptions());
        var made = 0;
        var cache = new SeriesCache<ToolSeries>(2, (tool, server) => { made++; return new ToolSeries(metrics, tool, server); });
        Assert.Same(cache.Get("a", "s"), cache.Get("a", "s"));
        Assert.Same(cache.Get("b", null), cache.Get("b", null));
        Assert.Equal(2, made);
        // Full: a third pair is not remembered, so it is made on each call...
        Assert.NotSame(cache.Get("c", "s"), cache.Get("c", "s"));
        Assert.Equal(4, made);
        // ...and every one of those counts into the one Prometheus series.
        cache.Get("c", "s").Count(failed: false);
        cache.Get("c", "s").Count(failed: false);
        cache.Get("a", "s").Count(failed: true);
        Assert.Equal(2, metrics.ToolCallsChild("c", "s", "success").Value);
        Assert.Equal(1, metrics.ToolCallsChild("a", "s", "failure").Value);
    }

    [Fact]
    public async Task ConcurrentBatchesLoseNoCount()
    {
        var store = new ResourceStore(new ResourceOptions(), NullLogger<ResourceStore>.Instance, TimeProvider.System);
        var metrics = new RegistryMetrics(new MetricsOptions());
        var observer = new MetricsIngestObserver(metrics, new RealtimeCostEstimator(store));
        // Fresh series on every thread at once: the lazily resolved children must not drop increments either.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var b = 0; b < 50; b++)
                observer.OnCommitted(Enumerable.Range(0, 100).Select(i => new UsageEvent
                {
                    Type = i % 10 == 0 ? EventTypes.AgentRequest : EventTypes.ToolCall, Time = DateTimeOffset.UtcNow,
                    AgentId = $"agent-{i % 3}", Method = "tools/call", ToolName = $"tool-{i % 5}", ServerLabel = "s",
                    Status = i % 7 == 0 ? "failure" : "success", LatencyMs = i, RequestBytes = 40,
                }).ToList());
        })));
        var calls = Enumerable.Range(0, 5).Sum(t => metrics.ToolCallsChild($"tool-{t}", "s", "success").Value + metrics.ToolCallsChild($"tool-{t}", "s", "failure").Value);
        Assert.Equal(4 * 50 * 90, calls);
        Assert.Equal(4 * 50 * 90, Enumerable.Range(0, 5).Sum(t => metrics.ToolCallDurationChild($"tool-{t}", "s").Count));
        Assert.Equal(4 * 50 * 10, Enumerable.Range(0, 3).Sum(a => metrics.AgentRequests.Get($"agent-{a}", "tools/call").Value));
        // 40 request bytes = 10 input tokens per call (no model, so the default 4 bytes per token).
        Assert.Equal(4 * 50 * 90 * 10, Enumerable.Range(0, 3).Sum(a => metrics.TokensChild(null, $"agent-{a}").Value));
    }
}

/// <summary>The real exposition of a host fed through the ingest observer hook, checked by promtool.</summary>
public sealed class MetricsExpositionTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private const string CostRate = Aggregation.AggregationFixtures.Gpt4oRate + """

          tokenEstimation:
            bytesPerToken: 4
            maxOutputTokens: 1000
        """;

    private static UsageEvent Call(string agent, string tool = "search", string status = "success", double latency = 120, string? model = "gpt-4o",
        long? requestBytes = 4000, long? responseBytes = 40_000) => new()
    {
        Type = EventTypes.ToolCall, Time = DateTimeOffset.UtcNow, AgentId = agent, ToolName = tool, ServerLabel = "github", Model = model,
        Status = status, LatencyMs = latency, RequestBytes = requestBytes, ResponseBytes = responseBytes,
    };

    private async Task<AggregatorHost> StartAsync(Dictionary<string, string?> settings)
    {
        _folder.Write("rates.yaml", CostRate);
        settings["Alerts:EvaluatorEnabled"] = "false";
        return await AggregatorHost.StartAsync(db.ConnectionString, settings, ["--resources", _folder.Path]);
    }

    [Fact]
    public async Task IngestedEventsShowUpUnderTheDesignNamesAndPassPromtool()
    {
        await using var host = await StartAsync(new() { ["Metrics:MaxLabelValues"] = "5", ["Auth:AdminToken"] = "admin" });
        var observers = host.Services.GetServices<IIngestObserver>().ToList();
        Assert.Contains(observers, o => o is MetricsIngestObserver);
        IReadOnlyList<UsageEvent> batch =
        [
            Call("agent-a"), Call("agent-a", status: "failure", latency: 7000), Call("agent-b", tool: "fetch", latency: 3),
            new() { Type = EventTypes.AgentRequest, Time = DateTimeOffset.UtcNow, AgentId = "agent-a", Method = "tools/call" },
            new() { Type = EventTypes.CircuitBreaker, Time = DateTimeOffset.UtcNow, ServerLabel = "github", State = "open" },
            new() { Type = EventTypes.CircuitBreaker, Time = DateTimeOffset.UtcNow, ServerLabel = "jira", State = "half_open" },
            new() { Type = EventTypes.SseConnection, Time = DateTimeOffset.UtcNow, AgentId = "agent-a", State = "opened" },
            new() { Type = EventTypes.SseConnection, Time = DateTimeOffset.UtcNow, AgentId = "agent-a", State = "opened" },
            new() { Type = EventTypes.SseConnection, Time = DateTimeOffset.UtcNow, AgentId = "agent-a", State = "closed" },
            .. Enumerable.Range(0, 12).Select(i => Call($"bulk-{i:D2}", model: null)),
        ];
        foreach (var o in observers) o.OnCommitted(batch);

        using var anonymous = host.Client(); // /metrics needs no token
        var text = await anonymous.GetStringAsync("/metrics");
        Assert.Contains("registry_tool_calls_total{tool=\"search\",server=\"github\",status=\"success\"} 13", text);
        Assert.Contains("registry_tool_calls_total{tool=\"search\",server=\"github\",status=\"failure\"} 1", text);
        Assert.Contains("registry_tool_call_duration_seconds_bucket{tool=\"fetch\",server=\"github\",le=\"0.005\"} 1", text);
        // A tool that never failed has no failure series (not an empty one).
        Assert.DoesNotContain("registry_tool_calls_total{tool=\"fetch\",server=\"github\",status=\"failure\"}", text);
        Assert.Contains("registry_tool_call_duration_seconds_bucket{tool=\"search\",server=\"github\",le=\"5\"} 13", text);
        Assert.Contains("registry_tool_call_duration_seconds_bucket{tool=\"search\",server=\"github\",le=\"60\"} 14", text);
        Assert.Contains("registry_agent_requests_total{agent_id=\"agent-a\",method=\"tools/call\"} 1", text);
        Assert.Contains("registry_circuit_breaker_state{server=\"github\"} 1", text);
        Assert.Contains("registry_circuit_breaker_state{server=\"jira\"} 2", text);
        Assert.Contains("registry_active_sse_connections 1", text);
        // 4000 bytes → 1000 input tokens, 40 000 bytes → 10 000 output capped at 1000: 2000 tokens per gpt-4o call;
        // cost 1000 × 2.50 / 1e6 + 1000 × 10 / 1e6 = 0.0125.
        Assert.Contains("registry_estimated_token_usage_total{model=\"gpt-4o\",agent_id=\"agent-a\"} 4000", text);
        Assert.Contains("registry_estimated_cost_total{model=\"gpt-4o\",agent_id=\"agent-a\",currency=\"USD\"} 0.025", text);
        // agent_id of the token counter: agent-a, agent-b, then 3 of the 12 bulk agents; the other 9 fold.
        Assert.Contains("registry_estimated_token_usage_total{model=\"\",agent_id=\"other\"}", text);
        Assert.Contains("agentmeter_metrics_folded_series_total{metric=\"registry_estimated_token_usage_total\",label=\"agent_id\"} 9", text);
        Assert.DoesNotContain("bulk-11", text);
        // Process basics an SRE expects next to the domain metrics.
        Assert.Contains("process_cpu_seconds_total ", text);
        Assert.Contains("dotnet_total_memory_bytes ", text);

        var (code, output) = await PromtoolAsync(text);
        Assert.True(code == 0, $"promtool check metrics failed ({code}): {output}");
    }

    [Fact]
    public async Task EventsPostedToIngestAreCountedAtOnce()
    {
        await using var host = await StartAsync(new());
        using var client = host.Client();
        var now = DateTimeOffset.UtcNow.AddSeconds(-5).ToString("O");
        var body = $$"""
            [{"type":"tool_call","time":"{{now}}","event_id":"m-1","agent_id":"agent-z","tool_name":"deploy","server_label":"k8s","user_id":"u",
              "tenant_id":"t","model":"gpt-4o","status":"success","latency_ms":42,"request_bytes":400,"response_bytes":800},
             {"type":"tool_call","time":"{{now}}","event_id":"m-2","agent_id":"agent-z","tool_name":"deploy","server_label":"k8s","user_id":"u",
              "tenant_id":"t","model":"gpt-4o","status":"failure","latency_ms":900,"request_bytes":400,"response_bytes":800},
             {"type":"circuit_breaker","time":"{{now}}","server_label":"k8s","state":"open"}]
            """;
        using var response = await client.PostAsync("/api/v1/events", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        // The same batch again: ids known, nothing stored, nothing counted twice.
        using var again = await client.PostAsync("/api/v1/events", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(again.IsSuccessStatusCode);

        var text = await client.GetStringAsync("/metrics");
        Assert.Contains("registry_tool_calls_total{tool=\"deploy\",server=\"k8s\",status=\"success\"} 1\n", text);
        Assert.Contains("registry_tool_calls_total{tool=\"deploy\",server=\"k8s\",status=\"failure\"} 1\n", text);
        Assert.Contains("registry_circuit_breaker_state{server=\"k8s\"} 1", text);
        // 400 / 4 + 800 / 4 = 300 tokens per call.
        Assert.Contains("registry_estimated_token_usage_total{model=\"gpt-4o\",agent_id=\"agent-z\"} 600", text);
    }

    [Fact]
    public async Task BreakerGaugesStartFromTheLastRecordedStates()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                INSERT INTO server_health_events (time, server_label, state) VALUES
                  ('2026-11-01 10:00Z', 'warm-a', 'closed'), ('2026-11-01 11:00Z', 'warm-a', 'open'),
                  ('2026-11-01 10:00Z', 'warm-b', 'open'), ('2026-11-01 12:00Z', 'warm-b', 'half_open')
                """);
        await using var host = await StartAsync(new());
        var until = DateTime.UtcNow.AddSeconds(10);
        string text;
        while (!(text = await host.Client().GetStringAsync("/metrics")).Contains("warm-b") && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.Contains("registry_circuit_breaker_state{server=\"warm-a\"} 1", text);
        Assert.Contains("registry_circuit_breaker_state{server=\"warm-b\"} 2", text);
    }

    [Fact]
    public async Task MetricsCanBeSwitchedOff()
    {
        await using var host = await StartAsync(new() { ["Metrics:Enabled"] = "false" });
        Assert.DoesNotContain(host.Services.GetServices<IIngestObserver>(), o => o is MetricsIngestObserver);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client().GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task RequestsAreTracedWithOpenTelemetry()
    {
        await using var host = await StartAsync(new());
        Assert.NotNull(host.Services.GetService<TracerProvider>());
        var seen = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => { lock (seen) seen.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        await host.Client().GetStringAsync("/api/v1/alerts");
        // The server's span stops after the response has gone out: the client can be faster.
        bool Traced() { lock (seen) return seen.Any(a => a.GetTagItem("url.path") as string == "/api/v1/alerts"); }
        for (var until = DateTime.UtcNow.AddSeconds(10); !Traced() && DateTime.UtcNow < until;) await Task.Delay(20);
        Assert.True(Traced(), "no Microsoft.AspNetCore span for GET /api/v1/alerts");
        // The tracer also subscribes to the evaluation cycles' spans.
        using var alertsSource = new ActivitySource(AgentMeter.Aggregator.Alerts.AlertEvaluator.ActivitySourceName);
        Assert.True(alertsSource.HasListeners());
    }

    [Fact]
    public async Task SeriesBeyondTheTotalCapGoToTheOverflowSeriesAndAreCounted()
    {
        // The per-label bound lets all 12 tools and 12 servers through; the total cap stops at 4 series.
        // (No breaker states of other tests to warm-start from: they would take series of the budget.)
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE server_health_events");
        await using var host = await StartAsync(new() { ["Metrics:MaxSeries"] = "4" });
        var observer = host.Services.GetServices<IIngestObserver>().OfType<MetricsIngestObserver>().Single();
        observer.OnCommitted(Enumerable.Range(0, 12).Select(i => Call("agent-a", tool: $"tool-{i:D2}") with { ServerLabel = $"server-{i:D2}" }).ToList());

        var text = await host.Client().GetStringAsync("/metrics");
        // One line per series of the labelled domain metrics (a histogram by its _count).
        var domain = text.Split('\n').Where(l => l.StartsWith("registry_") && l.Contains('{') && !l.Contains("_bucket{") && !l.Contains("_sum{")).ToList();
        // tool-00: its call counter and its histogram; agent-a/gpt-4o: tokens and cost. Every later tool goes to "other".
        Assert.Contains("registry_tool_calls_total{tool=\"tool-00\",server=\"server-00\",status=\"success\"} 1", domain);
        Assert.Contains("registry_tool_calls_total{tool=\"other\",server=\"other\",status=\"success\"} 11", domain);
        Assert.Contains("registry_tool_call_duration_seconds_count{tool=\"other\",server=\"other\"} 11", domain);
        Assert.Contains("registry_estimated_token_usage_total{model=\"gpt-4o\",agent_id=\"agent-a\"} 24000", domain);
        Assert.DoesNotContain("tool-01", text);
        Assert.Contains("agentmeter_metrics_series_capped_total{metric=\"registry_tool_calls_total\"} 11", text);
        Assert.Contains("agentmeter_metrics_series_capped_total{metric=\"registry_tool_call_duration_seconds\"} 11", text);
        // Admitted series: exactly the cap; plus one overflow series per metric.
        Assert.Equal(4 + 2, domain.Count);
        var (code, output) = await PromtoolAsync(text);
        Assert.True(code == 0, $"promtool check metrics failed ({code}): {output}");
    }

    [Fact]
    public async Task WithRequireTokenMetricsNeedTheScrapeOrAdminTokenAndProbesStayOpen()
    {
        await using var host = await StartAsync(new()
        {
            ["Metrics:RequireToken"] = "true", ["Auth:MetricsToken"] = "scrape", ["Auth:AdminToken"] = "admin",
            ["Auth:IngestToken"] = "ingest", ["Auth:TenantTokens:acme"] = "acme",
        });
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client("wrong").GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client("ingest").GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client("acme").GetAsync("/metrics")).StatusCode);
        Assert.Contains("registry_active_sse_connections", await host.Client("scrape").GetStringAsync("/metrics"));
        Assert.Equal(HttpStatusCode.OK, (await host.Client("admin").GetAsync("/metrics")).StatusCode);
        // The scrape token reads nothing else.
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client("scrape").GetAsync("/api/v1/analytics/usage")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client("scrape").GetAsync("/api/v1/alerts")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("/readyz")).StatusCode);
    }

    [Theory]
    [InlineData("ingest", "Metrics__RequireToken=true needs Auth__MetricsToken (the scrape token) or Auth__AdminToken")]
    [InlineData(null, "Metrics__RequireToken=true, but no Auth__AdminToken, Auth__IngestToken or Auth__TenantTokens__* is set")]
    public async Task RequireTokenWithoutATokenThatCouldScrapeStopsTheStart(string? ingestToken, string message)
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(new()
        {
            ["Metrics:RequireToken"] = "true", ["Auth:IngestToken"] = ingestToken, ["Auth:MetricsToken"] = ingestToken is null ? "scrape" : null,
        }));
        Assert.Contains(message, e.Message);
    }

    internal static async Task<(int Code, string Output)> PromtoolAsync(string exposition)
    {
        var psi = new ProcessStartInfo("/usr/bin/promtool", "check metrics")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(exposition);
        p.StandardInput.Close();
        var output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, output);
    }
}
