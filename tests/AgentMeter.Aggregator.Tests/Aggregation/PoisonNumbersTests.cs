using System.Net.Http.Json;
using System.Text.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.Tests.Alerts;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Aggregation;

/// <summary>
/// Values an older version accepted (or an audit import brings), stored as they are, straight into
/// usage_events — the rows with which the faults were reproduced on PostgreSQL 15.
/// </summary>
internal static class PoisonRows
{
    /// <summary>One tool_call with request_bytes 2^63 − 1 on <paramref name="bytesDay"/>, two with latency_ms 1e308 on <paramref name="latencyDay"/>.</summary>
    public static async Task InsertAsync(NpgsqlDataSource db, DateOnly bytesDay, DateOnly latencyDay, TimeOnly? at = null)
    {
        await using var conn = await db.OpenConnectionAsync();
        var time = at ?? new TimeOnly(10, 0);
        foreach (var day in new[] { bytesDay, latencyDay })
            await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition(@day)", new { day });
        await conn.ExecuteAsync(
            """
            INSERT INTO usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, model, status, latency_ms, request_bytes, response_bytes)
            VALUES (@bytesAt, 'tool_call', 'poison', 'search', 'github', 'u1', 'acme', 'gpt-4o', 'success', 5, @max, 10),
                   (@latencyAt, 'tool_call', 'poison', 'search', 'github', 'u1', 'acme', 'gpt-4o', 'success', 1e308, 10, 10),
                   (@latencyAt, 'tool_call', 'poison', 'search', 'github', 'u1', 'acme', 'gpt-4o', 'success', 1e308, 10, 10)
            """,
            new { bytesAt = bytesDay.ToDateTime(time, DateTimeKind.Utc), latencyAt = latencyDay.ToDateTime(time, DateTimeKind.Utc), max = long.MaxValue });
    }
}

/// <summary>
/// Poison numbers already stored: before the bounds, the first such day stopped the catch-up with
/// "bigint out of range" (and the next with "value out of range: overflow"), so no later day was
/// ever aggregated; now every day is aggregated with the values clamped, counted and reported.
/// </summary>
public class PoisonNumbersTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private const string Admin = "admin-secret";
    private static readonly DateOnly BytesDay = new(2026, 11, 3), LatencyDay = new(2026, 11, 4), CleanDay = new(2026, 11, 5);
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-10T12:00:00Z"));
    private readonly LogCapture _logs = new();
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        await AggregationFixtures.ResetAsync(db.DataSource);
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_stats_by_dimension, usage_stats_hourly, usage_stats_monthly");
        _host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Auth:AdminToken"] = Admin },
            verb: "aggregate", args: ["--from", "2026-01-01"], services: s => s.AddSingleton<TimeProvider>(_clock),
            configure: b => b.Logging.AddProvider(_logs));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ThePoisonRowsOverflowPlainArithmetic()
    {
        // What the aggregation computed before the bounds (and what any plain query still does).
        await PoisonRows.InsertAsync(db.DataSource, BytesDay, LatencyDay);
        await using var conn = await db.DataSource.OpenConnectionAsync();
        var bytes = await Assert.ThrowsAsync<PostgresException>(() => conn.ExecuteScalarAsync("SELECT sum((request_bytes + 3) / 4) FROM usage_events"));
        Assert.Equal("bigint out of range", bytes.MessageText);
        var latency = await Assert.ThrowsAsync<PostgresException>(() => conn.ExecuteScalarAsync("SELECT sum(latency_ms) FROM usage_events"));
        Assert.Equal("value out of range: overflow", latency.MessageText);
    }

    [Fact]
    public async Task EveryDayIsAggregatedWithTheValuesClampedCountedAndReported()
    {
        await PoisonRows.InsertAsync(db.DataSource, BytesDay, LatencyDay);
        await AggregationFixtures.StoreAsync(_host, AggregationFixtures.Call("2026-11-05T10:00:00Z", 10));

        var pass = (await _host.Services.GetRequiredService<DailyAggregator>().CatchUpAsync(default))!;
        Assert.Empty(pass.Failures);
        Assert.Equal([(BytesDay, 1L), (LatencyDay, 2L), (CleanDay, 0L)], pass.Days.Select(d => (d.Day, d.ClampedEvents)));

        await using var conn = await db.DataSource.OpenConnectionAsync();
        // request_bytes clamped to 2^40: ceil(2^40 / 4) = 2^38 input tokens.
        Assert.Equal(1L << 38, await conn.ExecuteScalarAsync<long>("SELECT estimated_input_tokens FROM usage_stats WHERE date = '2026-11-03'"));
        // latency_ms clamped to 1e10: two calls, total 2e10, p95 1e10, both in the top latency bucket (99).
        var (total, p95, histogram) = await conn.QuerySingleAsync<(double, double, int[])>(
            "SELECT total_latency_ms, p95_latency_ms, latency_histogram FROM usage_stats WHERE date = '2026-11-04'");
        Assert.Equal((2e10, 1e10), (total, p95));
        Assert.Equal(100, histogram.Length);
        Assert.Equal(2, histogram[99]);
        Assert.Equal([1L, 2L, 0L], await conn.QueryAsync<long>("SELECT clamped_events FROM aggregated_days ORDER BY date"));
        Assert.Contains(_logs.Lines, l => l.StartsWith("Warning") && l.Contains("2 tool call(s) of 2026-11-04 have a numeric field out of range")
                                          && l.Contains("agentmeter_out_of_bounds("));
        // The query the warning suggests finds exactly the poison rows.
        Assert.Equal(3L, await conn.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM usage_events WHERE agentmeter_out_of_bounds(latency_ms, request_bytes, response_bytes, input_tokens, output_tokens, cached_input_tokens)"));

        using var client = _host.Client(Admin);
        var resp = await client.GetAsync("/api/v1/aggregation");
        Assert.True(resp.IsSuccessStatusCode, await resp.Content.ReadAsStringAsync());
        using var status = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
        Assert.Equal(["2026-11-03:1", "2026-11-04:2"], status.RootElement.GetProperty("clampedEvents").EnumerateArray()
            .Select(c => $"{c.GetProperty("date").GetString()}:{c.GetProperty("events").GetInt64()}"));
        // The readers sum the clamped rows without overflowing either.
        client.DefaultRequestHeaders.CacheControl = new() { NoCache = true };
        using var usage = JsonDocument.Parse(await client.GetStringAsync("/api/v1/analytics/usage?from=2026-11-01&to=2026-11-09&group_by=agent"));
        Assert.Equal(4, usage.RootElement.GetProperty("totals").GetProperty("calls").GetInt64());
        await _host.Services.GetRequiredService<AggregationMetrics>().RefreshAsync(default);
        Assert.Contains("agentmeter_aggregation_clamped_events 3", await client.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task RowsAnOlderVersionStoredNearTheLimitsAreSummedWithoutOverflow()
    {
        // Daily rows written before the bounds: 0.75 × 2^63 tokens and 1e308 ms on each of three days, and per-dimension
        // rows as large on one day of each month (all the running totals of a month could hold).
        const long Huge = 6917529027641081856;
        await using (var conn = await db.DataSource.OpenConnectionAsync())
        {
            foreach (var day in new[] { "2026-09-15", "2026-09-16", "2026-10-15" })
                await conn.ExecuteAsync(
                    """
                    INSERT INTO usage_stats (date, agent_id, tool_name, tenant_id, model, call_count, success_count, failure_count, total_latency_ms,
                                             avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens)
                    VALUES (@day::date, 'old', 'search', 'acme', 'gpt-4o', 1, 1, 0, 1e308, 1e308, 1e308, '{0,1}', @huge, @huge);
                    INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES (@day::date, 1, 1);
                    SELECT agentmeter_rollup_dimensions(@day::date, 0);
                    """, new { day, huge = Huge });
            await conn.ExecuteAsync(
                "UPDATE usage_stats_by_dimension SET estimated_input_tokens = @huge, total_latency_ms = 1e308 WHERE date IN ('2026-09-15', '2026-10-15')",
                new { huge = Huge });
        }
        using var client = _host.Client(Admin);
        client.DefaultRequestHeaders.CacheControl = new() { NoCache = true };
        using (var usage = JsonDocument.Parse(await client.GetStringAsync("/api/v1/analytics/usage?from=2026-09-01&to=2026-10-31&group_by=agent")))
        {
            var totals = usage.RootElement.GetProperty("totals");
            Assert.Equal(long.MaxValue, totals.GetProperty("inputTokens").GetInt64());
            Assert.Equal(3, totals.GetProperty("calls").GetInt64());
            // Read back at most 1e10 ms per call.
            Assert.Equal(1e10, totals.GetProperty("avgLatencyMs").GetDouble());
        }
        using (var costs = await client.GetAsync("/api/v1/analytics/costs?from=2026-09-01&to=2026-10-31&group_by=model"))
            Assert.True(costs.IsSuccessStatusCode, await costs.Content.ReadAsStringAsync());

        // Retention's monthly rollup adds the two September days (1.5 × 2^63) up to the largest bigint.
        await using (var conn = await db.DataSource.OpenConnectionAsync())
        {
            var month = await MonthlyRollup.MoveAsync(conn, new DateOnly(2026, 9, 1), new DateOnly(2026, 10, 1), rollUp: true, default);
            Assert.Equal(2, month.Days);
            Assert.Equal((long.MaxValue, 2e10), await conn.QuerySingleAsync<(long, double)>(
                "SELECT estimated_input_tokens, total_latency_ms FROM usage_stats_monthly"));
        }
    }
}

/// <summary>Before the bounds, poison rows of today stopped the evaluation of every alert ("bigint out of range").</summary>
public class PoisonNumbersAlertTests
{
    [Fact]
    public async Task EveryAlertIsStillEvaluatedWithPoisonRowsInTheWindow()
    {
        var now = DateTimeOffset.Parse("2026-11-20T12:00:00Z");
        await using var kit = await AlertKit.CreateAsync(
            AlertKit.Alert("calls", "callCount", "3", "1h") + AlertKit.Alert("tokens", "tokens", "1000", "1h") +
            AlertKit.Alert("other-tenant", "callCount", "3", "24h", filter: "  filter:\n    tenantId: globex\n"), now);
        await PoisonRows.InsertAsync(kit.Data, new DateOnly(2026, 11, 20), new DateOnly(2026, 11, 20), new TimeOnly(11, 50));

        await kit.EvaluateAsync();
        Assert.Equal((3m, (string?)null), await kit.EvaluationAsync("calls"));
        Assert.Equal((0m, (string?)null), await kit.EvaluationAsync("other-tenant"));
        // ceil(2^40 / 4) input tokens of the clamped call, plus ceil(10 / 4) = 3 input and output tokens of the others.
        Assert.Equal(((decimal)(1L << 38) + 3 + 3 + 3 + 3 + 3, (string?)null), await kit.EvaluationAsync("tokens"));
        Assert.Equal("Firing", (await kit.StatesAsync("tokens"))[""].State);
    }
}
