using System.Net;
using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Aggregator.Tests.Aggregation;

/// <summary>
/// An event for 23:59:59 retried just after midnight: before the grace period it was left out of the
/// day for good; now it is in the day's own rows when it comes within Aggregation__Grace, and
/// appended as a correction when it comes later — counted exactly once either way.
/// </summary>
public class LateEventsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private const string Admin = "admin-secret";
    private const string Ingest = "ingest-secret";
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-09T09:00:00Z"));
    private readonly TempFolder _resources = new();
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        await AggregationFixtures.ResetAsync(db.DataSource);
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_stats_by_dimension, usage_stats_hourly, late_tool_calls, aggregation_failures");
        var rates = _resources.Write("rates.yaml", AggregationFixtures.Gpt4oRate);
        // No scheduler (aggregate verb): the test runs each pass at the time it sets.
        _host = await AggregatorHost.StartAsync(db.ConnectionString,
            new Dictionary<string, string?> { ["Auth:AdminToken"] = Admin, ["Auth:IngestToken"] = Ingest },
            verb: "aggregate", args: ["--from", "2026-01-01", "--resources", rates], services: s => s.AddSingleton<TimeProvider>(_clock));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _resources.Dispose();
    }

    private DailyAggregator Aggregator => _host.Services.GetRequiredService<DailyAggregator>();

    private static string Event(string id, string time) =>
        $$"""{"type":"tool_call","time":"{{time}}","event_id":"{{id}}","agent_id":"support-bot","tool_name":"search","server_label":"github","user_id":"alice","tenant_id":"acme","model":"gpt-4o","status":"success","latency_ms":120,"request_bytes":4000,"response_bytes":2000}""";

    private async Task PostAsync(params string[] events)
    {
        using var client = _host.Client(Ingest);
        using var response = await client.PostAsync("/api/v1/events", new StringContent($"[{string.Join(',', events)}]", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<PassResult> PassAtAsync(string time)
    {
        _clock.SetUtcNow(DateTimeOffset.Parse(time));
        return (await Aggregator.CatchUpAsync(default))!;
    }

    /// <summary>Calls and cost of 2026-11-09 as the usage and costs APIs report them (answer cache bypassed).</summary>
    private async Task<(long Calls, decimal Cost, long HeatmapCalls)> ApiTotalsAsync()
    {
        using var client = _host.Client(Admin);
        client.DefaultRequestHeaders.CacheControl = new() { NoCache = true };
        const string Range = "from=2026-11-09&to=2026-11-09";
        using var usage = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/analytics/usage?{Range}&group_by=agent"));
        using var costs = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/analytics/costs?{Range}&group_by=agent"));
        using var heatmap = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/analytics/heatmap?{Range}"));
        var usd = costs.RootElement.GetProperty("currencies").EnumerateArray().Single();
        Assert.Equal(usd.GetProperty("total").GetDecimal(), usd.GetProperty("groups").EnumerateArray().Single().GetProperty("cost").GetDecimal());
        return (usage.RootElement.GetProperty("totals").GetProperty("calls").GetInt64(), usd.GetProperty("total").GetDecimal(),
            heatmap.RootElement.GetProperty("cells").EnumerateArray().Sum(c => c.GetProperty("calls").GetInt64()));
    }

    /// <summary>Every derived row of 2026-11-09 as text: equal means nothing changed.</summary>
    private async Task<string> DayFingerprintAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<string>(
            """
            SELECT concat((SELECT string_agg(s::text, ';' ORDER BY s::text) FROM usage_stats s WHERE date = '2026-11-09'),
                          (SELECT string_agg(d::text, ';' ORDER BY d::text) FROM usage_stats_by_dimension d WHERE date = '2026-11-09'),
                          (SELECT string_agg(h::text, ';' ORDER BY h::text) FROM usage_stats_hourly h WHERE date = '2026-11-09'),
                          (SELECT string_agg(r::text, ';' ORDER BY r::text) FROM usage_stats_cost_running r),
                          (SELECT a::text FROM aggregated_days a WHERE date = '2026-11-09'))
            """) ?? "";
    }

    [Fact]
    public async Task RetriedWithinTheGraceTheEventIsInTheDaysOwnRows()
    {
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-09T23:55:00Z"));
        await PostAsync(Event("a-1", "2026-11-09T12:00:00Z"), Event("a-2", "2026-11-09T23:50:00Z"));
        // 23:59:59 sent 30 s after midnight by a gateway whose first attempt timed out, and retried.
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-10T00:00:30Z"));
        await PostAsync(Event("a-3", "2026-11-09T23:59:59Z"));
        await PostAsync(Event("a-3", "2026-11-09T23:59:59Z"));

        Assert.Empty((await PassAtAsync("2026-11-10T00:00:30Z")).Days);
        Assert.Empty((await PassAtAsync("2026-11-10T00:14:59Z")).Days);
        var pass = await PassAtAsync("2026-11-10T00:15:00Z");
        Assert.Equal([new DayResult(new DateOnly(2026, 11, 9), DayOutcome.Aggregated, 3, 1)], pass.Days);
        Assert.Empty(pass.Late);
        await using var conn = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM late_events"));
        Assert.Equal(3L, (await ApiTotalsAsync()).Calls);
    }

    [Fact]
    public async Task RetriedAfterTheDayWasAggregatedTheEventEndsUpInCostsAndUsageExactlyOnce()
    {
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-09T23:55:00Z"));
        await PostAsync(Event("b-1", "2026-11-09T12:00:00Z"), Event("b-2", "2026-11-09T23:50:00Z"));
        Assert.Single((await PassAtAsync("2026-11-10T00:15:00Z")).Days);
        var (calls, cost, heatmapCalls) = await ApiTotalsAsync();
        Assert.Equal((2L, 2L), (calls, heatmapCalls));
        // 1000 input tokens at 2.50 and 500 output tokens at 10 per million: 0.0075 per call.
        Assert.Equal(0.015m, cost);

        // The 23:59:59 event arrives at 00:20, and its retry too: stored once, queued once.
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-10T00:20:00Z"));
        await PostAsync(Event("b-3", "2026-11-09T23:59:59Z"));
        await PostAsync(Event("b-3", "2026-11-09T23:59:59Z"));
        await using var conn = await db.DataSource.OpenConnectionAsync();
        Assert.Equal((1L, 1L), await conn.QuerySingleAsync<(long, long)>(
            "SELECT (SELECT event_count FROM late_events WHERE date = '2026-11-09'), (SELECT count(*) FROM late_tool_calls)"));
        using (var admin = _host.Client(Admin))
        using (var status = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/aggregation")))
        {
            var late = status.RootElement.GetProperty("lateEvents").EnumerateArray().Single();
            Assert.Equal(("2026-11-09", 1L, 0L, 1L), (late.GetProperty("date").GetString(), late.GetProperty("received").GetInt64(),
                late.GetProperty("applied").GetInt64(), late.GetProperty("queued").GetInt64()));
        }
        Assert.Equal((2L, 0.015m, 2L), await ApiTotalsAsync()); // not yet applied

        var pass = await PassAtAsync("2026-11-10T00:25:00Z");
        Assert.Equal([new LateResult(new DateOnly(2026, 11, 9), LateOutcome.Applied, 1, Revision: 1, StatsRows: 1)], pass.Late);
        Assert.Equal((3L, 0.0225m, 3L), await ApiTotalsAsync());
        Assert.Equal([(0, 2L), (1, 1L)], await conn.QueryAsync<(int, long)>(
            "SELECT revision, call_count FROM usage_stats WHERE date = '2026-11-09' ORDER BY revision"));
        Assert.Equal((1L, 0L), await conn.QuerySingleAsync<(long, long)>(
            "SELECT (SELECT applied_count FROM late_events WHERE date = '2026-11-09'), (SELECT count(*) FROM late_tool_calls)"));

        // Running the pass, or the day's aggregation, again changes nothing.
        var before = await DayFingerprintAsync();
        Assert.False((await PassAtAsync("2026-11-10T00:30:00Z")).DidAnything);
        Assert.Equal(DayOutcome.AlreadyAggregated, (await Aggregator.AggregateDayAsync(conn, new DateOnly(2026, 11, 9), default)).Outcome);
        Assert.Equal(before, await DayFingerprintAsync());
        Assert.Equal((3L, 0.0225m, 3L), await ApiTotalsAsync());

        await _host.Services.GetRequiredService<AggregationMetrics>().RefreshAsync(default);
        var metrics = await _host.Client().GetStringAsync("/metrics");
        Assert.Contains("agentmeter_aggregation_late_events{state=\"applied\"} 1", metrics);
        Assert.Contains("agentmeter_aggregation_late_events{state=\"queued\"} 0", metrics);
    }

    [Fact]
    public async Task WritesRacingTheDaysAggregationAreCountedOnceEach()
    {
        // Batches for 2026-11-09 keep arriving while the day is aggregated: each event must end up in the
        // day's own rows or in a correction, never in neither and never in both.
        var ingest = _host.Services.GetRequiredService<IngestService>();
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-10T00:15:00Z"));
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < 40; b++)
                await ingest.StoreAsync(Enumerable.Range(0, 25).Select(i => AggregationFixtures.Call(
                    $"2026-11-09T{(w * 40 + b) % 24:00}:{i:00}:00Z", 10, agent: $"w{w}") with { EventId = $"{w}-{b}-{i}" }).ToList(), "ingest", default);
        })).ToList();
        await using var conn = await db.DataSource.OpenConnectionAsync();
        while (await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events") < 1000) await Task.Yield();
        var day = (await Aggregator.CatchUpAsync(default))!.Days.Single();
        await Task.WhenAll(writers);
        await Aggregator.CatchUpAsync(default); // applies whatever came after the day's transaction

        var (stored, counted, queued) = await conn.QuerySingleAsync<(long, long, long)>(
            """
            SELECT (SELECT count(*) FROM usage_events WHERE time >= '2026-11-09' AND time < '2026-11-10'),
                   (SELECT sum(call_count) FROM usage_stats WHERE date = '2026-11-09')::bigint,
                   (SELECT count(*) FROM late_tool_calls)
            """);
        Assert.Equal((4L * 40 * 25, 4L * 40 * 25, 0L), (stored, counted, queued));
        Assert.Equal(counted - day.Events, await conn.ExecuteScalarAsync<long>("SELECT coalesce(sum(applied_count), 0)::bigint FROM late_events"));
    }

    [Fact]
    public async Task AFailingCorrectionIsReportedAndNeverBlocksTheOtherDays()
    {
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-09T12:00:00Z"));
        await PostAsync(Event("c-1", "2026-11-08T12:00:00Z"), Event("c-2", "2026-11-09T12:00:00Z"));
        Assert.Equal(2, (await PassAtAsync("2026-11-10T00:15:00Z")).Days.Count);
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-10T00:20:00Z"));
        await PostAsync(Event("c-3", "2026-11-08T23:59:59Z"), Event("c-4", "2026-11-09T23:59:59Z"));
        await using var conn = await db.DataSource.OpenConnectionAsync();
        // A fault PostgreSQL raises for one day's correction rows only.
        await conn.ExecuteAsync("ALTER TABLE usage_stats ADD CONSTRAINT fault_injected CHECK (revision = 0 OR date <> '2026-11-08')");
        try
        {
            var pass = await PassAtAsync("2026-11-10T00:25:00Z");
            var failure = Assert.Single(pass.Failures);
            Assert.Equal((new DateOnly(2026, 11, 8), AggregationFailures.LateEvents), (failure.Date, failure.Stage));
            Assert.Contains("fault_injected", failure.Error);
            Assert.Equal([new DateOnly(2026, 11, 9)], pass.Late.Select(l => l.Day));
            // Still queued, not lost; reported with the day's late events.
            Assert.Equal(1L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM late_tool_calls"));
            using (var admin = _host.Client(Admin))
            using (var status = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/aggregation")))
            {
                var failed = status.RootElement.GetProperty("failedDays").EnumerateArray().Single();
                Assert.Equal(("2026-11-08", "late-events", 1L), (failed.GetProperty("date").GetString(), failed.GetProperty("stage").GetString(),
                    failed.GetProperty("lateEvents").GetProperty("queued").GetInt64()));
            }
        }
        finally
        {
            await conn.ExecuteAsync("ALTER TABLE usage_stats DROP CONSTRAINT fault_injected");
        }
        // Retried once due (Aggregation__PassInterval after the failure): applied, failure cleared.
        Assert.Empty((await PassAtAsync("2026-11-10T00:29:00Z")).Late);
        var retry = await PassAtAsync("2026-11-10T00:30:00Z");
        Assert.Equal([(new DateOnly(2026, 11, 8), LateOutcome.Applied)], retry.Late.Select(l => (l.Day, l.Outcome)));
        Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM aggregation_failures"));
        Assert.Equal(2L, await conn.ExecuteScalarAsync<long>("SELECT sum(call_count) FROM usage_stats WHERE date = '2026-11-08'"));
    }

    [Fact]
    public async Task TheAggregationStatusIsForTheAdminOnly()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await _host.Client().GetAsync("/api/v1/aggregation")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _host.Client(Ingest).GetAsync("/api/v1/aggregation")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client(Admin).GetAsync("/api/v1/aggregation")).StatusCode);
    }
}
