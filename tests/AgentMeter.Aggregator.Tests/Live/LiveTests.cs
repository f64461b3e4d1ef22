using System.Net;
using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Budgets;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Live;
using AgentMeter.Aggregator.Tests.Aggregation;
using AgentMeter.Aggregator.Tests.Budgets;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;
using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Aggregator.Tests.Live;

/// <summary>
/// Today live: the days not aggregated yet answer from the live rollup of their raw events, with the same figures
/// the day has once aggregated, for every tenant its own.
/// </summary>
public class LiveTests : IAsyncLifetime
{
    private const string Admin = "admin-secret";
    private const string IngestToken = "ingest-secret";
    private const string TenantA = "tenant-a-secret";
    private readonly DatabaseFixture _db = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-09T10:00:00Z"));
    private readonly TempFolder _resources = new();
    private AggregatorHost _host = null!;

    public Task InitializeAsync() => _db.InitializeAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        await _db.DisposeAsync();
        _resources.Dispose();
    }

    /// <summary>The aggregator on the fake clock; <c>aggregate</c> runs no background job (the test refreshes and aggregates), <c>serve</c> does.</summary>
    private async Task StartAsync(string verb, string extraResources = "")
    {
        var rates = _resources.Write("resources.yaml", AggregationFixtures.Gpt4oRate + "\n---\n" + extraResources);
        _host = await AggregatorHost.StartAsync(_db.ConnectionString, new Dictionary<string, string?>
            {
                ["Auth:AdminToken"] = Admin, ["Auth:IngestToken"] = IngestToken, ["Auth:TenantTokens:tenant-a"] = TenantA,
                ["Live:RefreshInterval"] = "00:00:05",
            },
            verb: verb, args: verb == "aggregate" ? ["--from", "2026-01-01", "--resources", rates] : ["--resources", rates],
            services: s => s.AddSingleton<TimeProvider>(_clock));
    }

    private LiveRollup Live => _host.Services.GetRequiredService<LiveRollup>();
    private DailyAggregator Aggregator => _host.Services.GetRequiredService<DailyAggregator>();

    private static string Event(string id, string time, string tenant = "acme") =>
        $$"""{"type":"tool_call","time":"{{time}}","event_id":"{{id}}","agent_id":"support-bot","tool_name":"search","server_label":"github","user_id":"alice","tenant_id":"{{tenant}}","model":"gpt-4o","status":"success","latency_ms":120,"request_bytes":4000,"response_bytes":2000}""";

    private async Task PostAsync(params string[] events)
    {
        using var client = _host.Client(IngestToken);
        using var response = await client.PostAsync("/api/v1/events", new StringContent($"[{string.Join(',', events)}]", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> GetAsync(string token, string pathAndQuery, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var client = _host.Client(token);
        client.DefaultRequestHeaders.CacheControl = new() { NoCache = true };
        using var response = await client.GetAsync(pathAndQuery);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{pathAndQuery}: {response.StatusCode} {body}");
        return body;
    }

    /// <summary>USD total of the costs answer (0 when nothing is priced).</summary>
    private async Task<decimal> CostAsync(string token, string query)
    {
        using var doc = JsonDocument.Parse(await GetAsync(token, $"/api/v1/analytics/costs?{query}"));
        return doc.RootElement.GetProperty("currencies").EnumerateArray()
            .Where(c => c.GetProperty("currency").GetString() == "USD").Select(c => c.GetProperty("total").GetDecimal()).SingleOrDefault();
    }

    [Fact]
    public async Task TodaysCostAppearsWithinAMinuteOfIngest()
    {
        await StartAsync("serve");
        await PostAsync(Event("t-1", "2026-11-09T09:59:30Z"), Event("t-2", "2026-11-09T09:59:50Z"));
        var ingested = _clock.GetUtcNow();
        // The refresh runs every Live__RefreshInterval of the (fake) clock: move it on one interval at a time, and give
        // each refresh real time to finish, until the cost shows.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await CostAsync(Admin, "period=1d") != 0.015m)
        {
            Assert.True(DateTime.UtcNow < deadline, "today's cost never appeared");
            if (_clock.GetUtcNow() - ingested < TimeSpan.FromSeconds(5)) _clock.Advance(TimeSpan.FromSeconds(5));
            else await Task.Yield();
        }
        Assert.True(_clock.GetUtcNow() - ingested <= TimeSpan.FromSeconds(60));
        // 1000 input tokens at 2.50 and 500 output tokens at 10 per million: 0.0075 per call, today, live.
        using var costs = JsonDocument.Parse(await GetAsync(Admin, "/api/v1/analytics/costs?period=1d&group_by=agent"));
        var usd = costs.RootElement.GetProperty("currencies").EnumerateArray().Single();
        Assert.Equal(("support-bot", 0.015m), (usd.GetProperty("groups")[0].GetProperty("key").GetString(), usd.GetProperty("groups")[0].GetProperty("cost").GetDecimal()));
        Assert.Equal("2026-11-09", usd.GetProperty("series").EnumerateArray().Single().GetProperty("date").GetString());
    }

    /// <summary>Every analytics answer of the ranges, by every groupBy, as served.</summary>
    private async Task<Dictionary<string, string>> AnswersAsync(params string[] ranges)
    {
        var answers = new Dictionary<string, string>();
        foreach (var range in ranges)
        {
            foreach (var dimension in Dimension.All)
                foreach (var endpoint in new[] { "usage", "costs" })
                    answers[$"{endpoint}?{range}&group_by={dimension.Name}"] =
                        await GetAsync(Admin, $"/api/v1/analytics/{endpoint}?{range}&group_by={dimension.Name}");
            foreach (var endpoint in new[] { "heatmap", "errors" })
                answers[$"{endpoint}?{range}"] = await GetAsync(Admin, $"/api/v1/analytics/{endpoint}?{range}");
        }
        return answers;
    }

    [Fact]
    public async Task ADaysAnswersAreTheSameBeforeAndAfterItIsAggregatedLateEventsIncluded()
    {
        await StartAsync("aggregate");
        var ingest = _host.Services.GetRequiredService<IngestService>();
        UsageEvent Call(string time, string agent, string tenant, string model = "gpt-4o", string status = "success", double latency = 100,
            string server = "github") =>
            AggregationFixtures.Call(time, latency, agent: agent, model: model, status: status, server: server) with
            {
                TenantId = tenant, UserId = $"{agent}-user", ToolName = server == "github" ? "search" : "fetch",
            };
        // An aggregated day before, then the day under test with several of each dimension, failures, an unpriced model.
        await ingest.StoreAsync([Call("2026-11-08T08:00:00Z", "a", "acme"), Call("2026-11-08T09:00:00Z", "b", "tenant-a")], "ingest", default);
        Assert.Single((await Aggregator.CatchUpAsync(default))!.Days);
        await ingest.StoreAsync(
        [
            Call("2026-11-09T01:00:00Z", "a", "acme"), Call("2026-11-09T01:30:00Z", "a", "acme", latency: 900),
            Call("2026-11-09T05:00:00Z", "b", "acme", status: "failure", server: "tavily"),
            Call("2026-11-09T07:00:00Z", "b", "tenant-a", model: "in-house-llm"),
            Call("2026-11-09T09:00:00Z", "c", "tenant-a", latency: 40), Call("2026-11-09T09:10:00Z", "c", "tenant-a", latency: 4000),
            Call("2026-11-09T09:20:00Z", "c", "tenant-a", latency: 70, status: "failure"),
        ], "ingest", default);
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-09T23:59:00Z"));
        Assert.Equal([new DateOnly(2026, 11, 9)], await Live.RefreshAsync(default));

        // Just after midnight, within the grace: one event of 23:59:59 arrives late, and today starts.
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-10T00:05:00Z"));
        await ingest.StoreAsync([Call("2026-11-09T23:59:59Z", "a", "acme"), Call("2026-11-10T00:01:00Z", "c", "tenant-a")], "ingest", default);
        Assert.Equal([new DateOnly(2026, 11, 9), new DateOnly(2026, 11, 10)], await Live.RefreshAsync(default));
        Assert.Empty(await Live.RefreshAsync(default)); // nothing new: nothing rewritten

        const string Day = "from=2026-11-09&to=2026-11-09";
        const string Range = "from=2026-11-08&to=2026-11-10";
        var before = await AnswersAsync(Day, Range);
        using (var usage = JsonDocument.Parse(before[$"usage?{Day}&group_by=agent"]))
            Assert.Equal(8, usage.RootElement.GetProperty("totals").GetProperty("calls").GetInt64());
        using (var usage = JsonDocument.Parse(before[$"usage?{Range}&group_by=agent"]))
            Assert.Equal(11, usage.RootElement.GetProperty("totals").GetProperty("calls").GetInt64());
        using (var costs = JsonDocument.Parse(before[$"costs?{Day}&group_by=model"]))
            Assert.Equal("in-house-llm", costs.RootElement.GetProperty("unpriced").GetProperty("models")[0].GetProperty("model").GetString());

        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-10T00:15:00Z"));
        Assert.Equal(new DateOnly(2026, 11, 9), Assert.Single((await Aggregator.CatchUpAsync(default))!.Days).Day);
        Assert.Empty(await Live.RefreshAsync(default));
        var after = await AnswersAsync(Day, Range);
        Assert.Equal(before.Count, after.Count);
        foreach (var (request, answer) in before)
            Assert.True(answer == after[request], $"{request} changed when the day was aggregated:\nbefore {answer}\nafter  {after[request]}");

        // The aggregated day has no live rows left; today has.
        await using var conn = await _db.DataSource.OpenConnectionAsync();
        Assert.Equal((0L, 0L, 0L, 1L), await conn.QuerySingleAsync<(long, long, long, long)>(
            """
            SELECT (SELECT count(*) FROM usage_stats_live WHERE date = '2026-11-09'),
                   (SELECT count(*) FROM usage_stats_by_dimension WHERE date = '2026-11-09' AND revision = -1),
                   (SELECT count(*) FROM usage_stats_hourly WHERE date = '2026-11-09' AND revision = -1),
                   (SELECT count(*) FROM live_days)
            """));
    }

    [Fact]
    public async Task ATenantSeesOnlyItsOwnLiveUsage()
    {
        await StartAsync("aggregate");
        await PostAsync(Event("a-1", "2026-11-09T09:00:00Z", "tenant-a"), Event("b-1", "2026-11-09T09:00:00Z", "tenant-b"),
            Event("b-2", "2026-11-09T09:01:00Z", "tenant-b"));
        await Live.RefreshAsync(default);

        Assert.Equal(0.0075m, await CostAsync(TenantA, "period=1d"));
        Assert.Equal(0.0075m, await CostAsync(TenantA, "period=1d&tenant=tenant-a"));
        Assert.Equal(0.0225m, await CostAsync(Admin, "period=1d"));
        await GetAsync(TenantA, "/api/v1/analytics/costs?period=1d&tenant=tenant-b", HttpStatusCode.Forbidden);
        using (var usage = JsonDocument.Parse(await GetAsync(TenantA, "/api/v1/analytics/usage?period=1d&group_by=tenant")))
        {
            Assert.Equal(1, usage.RootElement.GetProperty("totals").GetProperty("calls").GetInt64());
            Assert.Equal(["tenant-a"], usage.RootElement.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("key").GetString()));
        }
        using (var heatmap = JsonDocument.Parse(await GetAsync(TenantA, "/api/v1/analytics/heatmap?period=1d")))
            Assert.Equal(1, heatmap.RootElement.GetProperty("cells").EnumerateArray().Sum(c => c.GetProperty("calls").GetInt64()));
        using (var errors = JsonDocument.Parse(await GetAsync(TenantA, "/api/v1/analytics/errors?period=1d")))
            Assert.Equal(1, errors.RootElement.GetProperty("days").EnumerateArray().Single().GetProperty("toolCalls").GetInt64());
        using (var heatmap = JsonDocument.Parse(await GetAsync(Admin, "/api/v1/analytics/heatmap?period=1d")))
            Assert.Equal(3, heatmap.RootElement.GetProperty("cells").EnumerateArray().Sum(c => c.GetProperty("calls").GetInt64()));
    }

    [Fact]
    public async Task ABudgetIsEvaluatedWithTodaysSpend()
    {
        await StartAsync("aggregate", BudgetKit.Budget("1000", "  forecast: false\n  filter: {tenantId: tenant-a}\n"));
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-09T10:00:00Z"));
        await PostAsync(Event("y-1", "2026-11-08T09:00:00Z", "tenant-a"));
        Assert.Single((await Aggregator.CatchUpAsync(default))!.Days);
        await PostAsync(Event("a-1", "2026-11-09T09:00:00Z", "tenant-a"), Event("a-2", "2026-11-09T09:30:00Z", "tenant-a"),
            Event("b-1", "2026-11-09T09:00:00Z", "tenant-b"));
        var evaluator = _host.Services.GetRequiredService<BudgetEvaluator>();
        var book = _host.Services.GetRequiredService<BudgetBook>();

        Assert.True(await evaluator.EvaluateAllAsync(default));
        Assert.Equal(0.0075m, book.Views.Single().Evaluation!.Spent); // yesterday only: today not rolled up yet
        await Live.RefreshAsync(default);
        Assert.True(await evaluator.EvaluateAllAsync(default));
        Assert.Equal(0.0225m, book.Views.Single().Evaluation!.Spent);
    }

    [Fact]
    public async Task ReportsHoldClosedDaysOnlyWhileTheCostsApiShowsTodayLive()
    {
        await StartAsync("aggregate");
        await PostAsync(Event("y-1", "2026-11-08T09:00:00Z"));
        Assert.Single((await Aggregator.CatchUpAsync(default))!.Days);
        await PostAsync(Event("t-1", "2026-11-09T09:00:00Z"), Event("t-2", "2026-11-09T09:30:00Z"));
        await Live.RefreshAsync(default);

        Assert.Equal(0.0225m, await CostAsync(Admin, "from=2026-11-01&to=2026-11-30"));
        using (var chargeback = JsonDocument.Parse(await GetAsync(Admin, "/api/v1/reports/chargeback?month=2026-11&group_by=agent&format=json")))
        {
            var row = chargeback.RootElement.GetProperty("rows").EnumerateArray().Single();
            Assert.Equal((1L, 0.0075m), (row.GetProperty("calls").GetInt64(), row.GetProperty("cost").GetDecimal()));
        }
        var focus = (await GetAsync(Admin, "/api/v1/reports/focus?month=2026-11")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, focus.Length); // the header and the closed day's one row
        Assert.Contains("2026-11-08", focus[1]);
    }
}
