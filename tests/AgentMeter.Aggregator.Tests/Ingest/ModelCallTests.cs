using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Tests.Alerts;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// The model_call event type (POST /api/v1/events and OTLP model-call spans): its tokens and cost
/// count for its agent, tenant, user and model wherever tokens and costs appear — usage_stats, the
/// usage and costs APIs, the token and cost counters, alerts — and it is never a tool call.
/// </summary>
public sealed class ModelCallTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private static readonly DateOnly Day = new(2026, 10, 20);
    private readonly TempFolder _folder = new();
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        var rates = _folder.Write("rates.yaml", """
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: gpt-4o}
            spec: {model: gpt-4o, currency: USD, inputPerMillionTokens: "2.50", cachedInputPerMillionTokens: "1.25", outputPerMillionTokens: "10", effectiveFrom: "2026-01-01"}
            """);
        _host = await AggregatorHost.StartAsync(db.ConnectionString, verb: "aggregate", args: ["--from", "2026-01-01", "--resources", rates]);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _folder.Dispose();
    }

    private static object ModelCall(string time, string agent, string user, long input, long output, long? cached = null, string model = "gpt-4o") => new
    {
        type = "model_call", time, event_id = $"m-{agent}-{user}-{time}", agent_id = agent, user_id = user, tenant_id = "acme", model,
        input_tokens = input, output_tokens = output, cached_input_tokens = cached,
    };

    private static object ToolCall(string time, string agent) => new
    {
        type = "tool_call", time, agent_id = agent, tool_name = "search", server_label = "github", user_id = "alice", tenant_id = "acme",
        model = "gpt-4o", status = "success", latency_ms = 100, input_tokens = 0, output_tokens = 0,
    };

    private async Task<HttpResponseMessage> PostAsync(params object[] events)
    {
        using var client = _host.Client();
        return await client.PostAsJsonAsync("/api/v1/events", events);
    }

    [Fact]
    public async Task AModelCallNeedsItsAgentModelAndTokensAndTakesNoToolFields()
    {
        using var response = await PostAsync(
            new { type = "model_call", time = "2026-10-20T10:00:00Z", agent_id = "bot" },
            new { type = "model_call", time = "2026-10-20T10:00:00Z", agent_id = "bot", model = "m", input_tokens = 3, output_tokens = 0, tool_name = "x" },
            new { type = "model_call", time = "2026-10-20T10:00:00Z", agent_id = "bot", model = "m", input_tokens = 3, output_tokens = 0, cached_input_tokens = 4 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problems = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray()
            .Select(e => $"{e.GetProperty("index")}|{e.GetProperty("field").GetString()}|{e.GetProperty("problem").GetString()}").ToList();
        Assert.Equal(
        [
            "0|model|is required", "0|input_tokens|is required", "0|output_tokens|is required",
            "1|tool_name|is not a field of model_call; accepts type, time, event_id, agent_id, model, user_id, tenant_id, input_tokens, output_tokens, cached_input_tokens",
            "2|cached_input_tokens|4 is more than input_tokens 3 (cached tokens are part of the input tokens)",
        ], problems);
    }

    [Fact]
    public async Task ModelCallsCountTokensAndCostEverywhereButNeverAsToolCalls()
    {
        var metricsBefore = await MetricsAsync();
        using (var response = await PostAsync(
                   ToolCall("2026-10-20T09:00:00Z", "bot"), ToolCall("2026-10-20T09:01:00Z", "bot"),
                   // 1M input (400k cached) + 100k output: 600k × 2.50 + 400k × 1.25 + 100k × 10 per million = 3.00 USD.
                   ModelCall("2026-10-20T09:02:00Z", "bot", "alice", 1_000_000, 100_000, cached: 400_000),
                   // 200k input: 0.50 USD.
                   ModelCall("2026-10-20T09:03:00Z", "bot", "bob", 200_000, 0),
                   ModelCall("2026-10-20T09:04:00Z", "writer", "bob", 400_000, 200_000)))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Real-time counters: tokens and cost per model and agent; no tool-call series for model calls.
        var metrics = await MetricsAsync();
        Assert.Equal(1_300_000, Delta(metricsBefore, metrics, "registry_estimated_token_usage_total{model=\"gpt-4o\",agent_id=\"bot\"}"));
        Assert.Equal(3.5, Delta(metricsBefore, metrics, "registry_estimated_cost_total{model=\"gpt-4o\",agent_id=\"bot\",currency=\"USD\"}"), 9);
        Assert.Equal(3.0, Delta(metricsBefore, metrics, "registry_estimated_cost_total{model=\"gpt-4o\",agent_id=\"writer\",currency=\"USD\"}"), 9);
        Assert.Equal(2, Delta(metricsBefore, metrics, "registry_tool_calls_total{tool=\"search\",server=\"github\",status=\"success\"}"));

        var result = Assert.Single(await _host.Services.GetRequiredService<DailyAggregator>().AggregateRangeAsync(Day, Day, CancellationToken.None));
        Assert.Equal(2, result.Events); // tool calls only

        using var client = _host.Client();
        var costs = await client.GetFromJsonAsync<CostResponse>("/api/v1/analytics/costs?group_by=agent&from=2026-10-20&to=2026-10-20");
        var usd = Assert.Single(costs!.Currencies);
        Assert.Equal(6.5m, usd.Total);
        Assert.Equal([("bot", 3.5m, 2L, 1_200_000L, 100_000L), ("writer", 3.0m, 0L, 400_000L, 200_000L)],
            usd.Groups.Select(g => (g.Key, g.Cost, g.Calls, g.InputTokens, g.OutputTokens)));
        foreach (var (groupBy, expected) in new[]
                 {
                     ("user", new[] { ("alice", 3.0m), ("bob", 3.5m) }), ("tenant", [("acme", 6.5m)]), ("model", [("gpt-4o", 6.5m)]),
                 })
        {
            var byGroup = await client.GetFromJsonAsync<CostResponse>($"/api/v1/analytics/costs?group_by={groupBy}&from=2026-10-20&to=2026-10-20");
            Assert.Equal(expected, Assert.Single(byGroup!.Currencies).Groups.Select(g => (g.Key, g.Cost)).OrderBy(g => g.Key));
        }

        var usage = await client.GetFromJsonAsync<UsageResponse>("/api/v1/analytics/usage?group_by=agent&from=2026-10-20&to=2026-10-20");
        Assert.Equal(2, usage!.Totals.Calls);
        var writer = Assert.Single(usage.Groups, g => g.Key == "writer");
        // A group of model calls only: tokens, no calls, so no error rate and no latency.
        Assert.Equal((0L, 400_000L, 200_000L, (double?)null, (double?)null, (double?)null),
            (writer.Calls, writer.InputTokens, writer.OutputTokens, writer.ErrorRate, writer.AvgLatencyMs, writer.P95LatencyMs));

        // A model call that arrives after its day was aggregated is kept and counted as late.
        using (var late = await PostAsync(ModelCall("2026-10-20T23:00:00Z", "bot", "alice", 1, 1)))
            Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        await using var conn = new Npgsql.NpgsqlConnection(db.ConnectionString);
        Assert.Equal(1, await conn.ExecuteScalarAsync<long>("SELECT event_count FROM late_events WHERE date = '2026-10-20'"));
    }

    private async Task<Dictionary<string, double>> MetricsAsync()
    {
        using var client = _host.Client();
        return (await client.GetStringAsync("/metrics")).Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => (Series: l[..l.LastIndexOf(' ')], Value: double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)))
            .ToDictionary(s => s.Series, s => s.Value);
    }

    private static double Delta(Dictionary<string, double> before, Dictionary<string, double> after, string series) =>
        after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
}

/// <summary>Alerts on tokens and cost see model calls, from raw events and from aggregated days; callCount does not.</summary>
public class ModelCallAlertTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TokensAndCostAlertsCountModelCallsAndCallCountDoesNot()
    {
        var yaml = string.Concat(
            AlertKit.Alert("tokens", "tokens", "1", "2d", groupBy: "agent"),
            AlertKit.Alert("cost", "cost", "1", "2d", groupBy: "user"),
            AlertKit.Alert("calls", "callCount", "1000", "2d"));
        await using var kit = await AlertKit.CreateAsync(yaml, Noon);
        await using (var conn = await kit.Data.OpenConnectionAsync())
        {
            await conn.ExecuteAsync(
                """
                INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from)
                VALUES ('gpt-4o', 'gpt-4o', 'USD', 2.5, 10, '2026-01-01');
                SELECT agentmeter_ensure_event_partition('2026-11-20');
                INSERT INTO usage_events (time, type, agent_id, user_id, tenant_id, model, input_tokens, output_tokens)
                VALUES ('2026-11-20 11:00Z', 'model_call', 'bot', 'alice', 'tenant-a', 'gpt-4o', 1000000, 100000);
                """);
        }
        // Yesterday, aggregated: a model-call row of usage_stats (no calls, tokens and cost).
        await UsageData.StatsAsync(kit.Data, new DateOnly(2026, 11, 19), 0, agent: "bot", inputTokens: 400_000, outputTokens: 0,
            cost: 1.0m, currency: "USD", model: "gpt-4o");
        await UsageData.CallsAsync(kit.Data, Noon.AddHours(-1), 3, agent: "bot");

        await kit.EvaluateAsync();

        Assert.Equal(1_500_000m, (await kit.StatesAsync("tokens"))["bot"].Value);
        // Today 2.50 + 1.00 USD from raw events, 1.00 from yesterday's row (user-1 in UsageData).
        var cost = await kit.StatesAsync("cost");
        Assert.Equal(3.5m, cost["alice"].Value);
        Assert.Equal(1.0m, cost["user-1"].Value);
        Assert.Equal(3m, (await kit.EvaluationAsync("calls")).Value);
    }
}

/// <summary>Migration 0400: usage_events takes model_call (and still nothing else); the per-event view prices it and tells its type.</summary>
public sealed class ModelCallSchemaTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task UsageEventsTakeModelCallsAndTheViewPricesThem()
    {
        await using var conn = new Npgsql.NpgsqlConnection(db.ConnectionString);
        await conn.ExecuteAsync(
            """
            INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from)
            VALUES ('schema-gpt', 'schema-gpt', 'USD', 2, 8, '2026-01-01');
            SELECT agentmeter_ensure_event_partition('2026-10-25');
            INSERT INTO usage_events (time, type, event_id, agent_id, model, input_tokens, output_tokens)
            VALUES ('2026-10-25 10:00Z', 'model_call', 'schema-m1', 'bot', 'schema-gpt', 1000000, 500000);
            """);
        var row = await conn.QuerySingleAsync<(string Type, long Input, long Output, decimal Cost, string Currency)>(
            "SELECT type, estimated_input_tokens, estimated_output_tokens, estimated_cost, currency FROM usage_events_estimated WHERE event_id = 'schema-m1'");
        Assert.Equal(("model_call", 1_000_000L, 500_000L, 6m, "USD"), row);

        // A partition made after the migration refuses other types, as the old check did.
        await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition('2026-10-26')");
        var e = await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            conn.ExecuteAsync("INSERT INTO usage_events (time, type) VALUES ('2026-10-26 10:00Z', 'page_view')"));
        Assert.Equal(Npgsql.PostgresErrorCodes.CheckViolation, e.SqlState);
    }
}
