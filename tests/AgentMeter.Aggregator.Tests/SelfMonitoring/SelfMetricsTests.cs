using System.Text;
using AgentMeter.Aggregator.Tests.Alerts;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Aggregator.Tests.Metrics;
using Dapper;

namespace AgentMeter.Aggregator.Tests.SelfMonitoring;

/// <summary>
/// AgentMeter's own health metrics on the real aggregator's /metrics: ingest results by source, the
/// outbox backlog, alerts loaded, the background jobs' last success and durations; promtool accepts them.
/// </summary>
public sealed class SelfMetricsTests : IAsyncLifetime
{
    private readonly DatabaseFixture _db = new();
    private readonly TempFolder _folder = new();

    public Task InitializeAsync() => _db.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        _folder.Dispose();
    }

    private Task<AggregatorHost> StartAsync(Dictionary<string, string?> settings)
    {
        _folder.Write("alerts.yaml", AlertKit.Alert("calls-a", "callCount", "1000", "1h") + AlertKit.Alert("calls-b", "callCount", "1000", "1h"));
        return AggregatorHost.StartAsync(_db.ConnectionString, settings, ["--resources", _folder.Path]);
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient client, Func<string, bool> done, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var text = await client.GetStringAsync("/metrics");
            if (done(text)) return text;
            if (DateTime.UtcNow > until) throw new TimeoutException($"/metrics never showed {what}:\n{text}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task IngestResultsAreCountedBySource()
    {
        await using var host = await StartAsync(new() { ["Alerts:EvaluatorEnabled"] = "false" });
        using var client = host.Client();
        var now = DateTimeOffset.UtcNow.AddSeconds(-5).ToString("O");
        string Call(string id) =>
            $$"""{"type":"tool_call","time":"{{now}}","event_id":"{{id}}","agent_id":"a","tool_name":"t","server_label":"s","status":"success","latency_ms":5,"request_bytes":10,"response_bytes":10}""";
        async Task PostAsync(string body, bool ok)
        {
            using var r = await client.PostAsync("/api/v1/events", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True(ok == r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        }

        var zero = await client.GetStringAsync("/metrics");
        // Every series is there before the first event, so rate() sees the first increase.
        Assert.Equal(0, Exposition.Value(zero, "agentmeter_ingest_events_total{source=\"json\",result=\"rejected\"}"));
        Assert.Equal(0, Exposition.Value(zero, "agentmeter_ingest_events_total{source=\"import\",result=\"stored\"}"));

        await PostAsync($"[{Call("e-1")},{Call("e-2")},{Call("e-3")}]", ok: true);
        await PostAsync($"[{Call("e-2")},{Call("e-3")},{Call("e-4")}]", ok: true);
        // One bad event refuses the batch: both of its events count as rejected, nothing stored.
        await PostAsync($$"""[{{Call("e-5")}},{"type":"tool_call","time":"{{now}}","agent_id":"a","status":"maybe"}]""", ok: false);

        var text = await client.GetStringAsync("/metrics");
        Assert.Equal(4, Exposition.Value(text, "agentmeter_ingest_events_total{source=\"json\",result=\"stored\"}"));
        Assert.Equal(2, Exposition.Value(text, "agentmeter_ingest_events_total{source=\"json\",result=\"duplicate\"}"));
        Assert.Equal(2, Exposition.Value(text, "agentmeter_ingest_events_total{source=\"json\",result=\"rejected\"}"));
        Assert.Equal(0, Exposition.Value(text, "agentmeter_ingest_events_total{source=\"otlp\",result=\"stored\"}"));
        var (code, output) = await MetricsExpositionTests.PromtoolAsync(text);
        Assert.True(code == 0, $"promtool check metrics failed ({code}): {output}");
    }

    [Fact]
    public async Task TheOutboxBacklogAndTheAlertsLoadedAreReadAtEveryScrape()
    {
        await using var host = await StartAsync(new() { ["Alerts:EvaluatorEnabled"] = "false", ["Webhooks:DispatcherEnabled"] = "false" });
        using var client = host.Client();
        var text = await client.GetStringAsync("/metrics");
        Assert.Equal(2, Exposition.Value(text, "agentmeter_alerts_loaded"));
        Assert.Equal(0, Exposition.Value(text, "agentmeter_notification_outbox_pending"));
        Assert.Equal(0, Exposition.Value(text, "agentmeter_notification_outbox_oldest_age_seconds"));

        await using (var conn = await _db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                INSERT INTO webhook_outbox (idempotency_key, namespace, alert_name, webhook_name, group_key, event_type, payload, created_at, next_attempt_at, status)
                VALUES ('k1', 'team-a', 'calls-a', 'oncall', '', 'firing', '{}', now() - interval '10 minutes', now(), 'pending'),
                       ('k2', 'team-a', 'calls-a', 'oncall', '', 'resolved', '{}', now() - interval '1 minute', now(), 'pending'),
                       ('k3', 'team-a', 'calls-b', 'oncall', '', 'firing', '{}', now() - interval '2 hours', now(), 'delivered')
                """);
        text = await client.GetStringAsync("/metrics");
        Assert.Equal(2, Exposition.Value(text, "agentmeter_notification_outbox_pending"));
        // The oldest pending one (10 min), not the delivered one of two hours ago.
        Assert.InRange(Exposition.Value(text, "agentmeter_notification_outbox_oldest_age_seconds")!.Value, 600, 660);
    }

    [Fact]
    public async Task BackgroundJobsReportTheirLastSuccessAndDuration()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        await using var host = await StartAsync(new() { ["Alerts:EvaluationInterval"] = "00:00:00.500" });
        using var client = host.Client();
        // The aggregation catch-up runs at start; the evaluator every half second.
        var text = await ScrapeUntilAsync(client, t => t.Contains("agentmeter_aggregation_last_success_timestamp_seconds ") &&
                                                       Exposition.Value(t, "agentmeter_alert_evaluation_duration_seconds_count") >= 2, "both jobs");
        Assert.InRange(Exposition.Value(text, "agentmeter_aggregation_last_success_timestamp_seconds")!.Value, before, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.InRange(Exposition.Value(text, "agentmeter_aggregation_duration_seconds")!.Value, 0, 60);
        var cycles = Exposition.Value(text, "agentmeter_alert_evaluation_duration_seconds_count")!.Value;
        // One observation per cycle: the +Inf bucket holds every cycle.
        Assert.Equal(cycles, Exposition.Value(text, "agentmeter_alert_evaluation_duration_seconds_bucket{le=\"+Inf\"}"));
        Assert.True(Exposition.Value(text, "agentmeter_alert_evaluation_duration_seconds_sum") > 0);
        // No retention pass has run in this process yet: no last success (not a 0 that reads as 1970).
        Assert.Null(Exposition.Value(text, "agentmeter_retention_last_success_timestamp_seconds"));
        var (code, output) = await MetricsExpositionTests.PromtoolAsync(text);
        Assert.True(code == 0, $"promtool check metrics failed ({code}): {output}");
    }
}
