using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Aggregation;

/// <summary>Shared helpers: events through the real ingest path, and a text fingerprint of usage_stats.</summary>
internal static class AggregationFixtures
{
    public static UsageEvent Call(string time, double latency, string agent = "agent-a", string model = "gpt-4o", string status = "success",
        long requestBytes = 1001, long responseBytes = 2000, long? inputTokens = null, string server = "github") => new()
    {
        Type = EventTypes.ToolCall, Time = DateTimeOffset.Parse(time), AgentId = agent, ToolName = "search", ServerLabel = server,
        UserId = "u1", TenantId = "acme", Model = model, Status = status, LatencyMs = latency,
        RequestBytes = requestBytes, ResponseBytes = responseBytes, InputTokens = inputTokens,
    };

    /// <summary>A CostRate for gpt-4o: 2.50 per million input tokens, 10 per million output tokens, from 2026-01-01.</summary>
    public const string Gpt4oRate = """
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata:
          name: gpt-4o
        spec:
          model: gpt-4o
          inputPerMillionTokens: "2.50"
          outputPerMillionTokens: "10"
          effectiveFrom: "2026-01-01"
        """;

    public static Task StoreAsync(AggregatorHost host, params UsageEvent[] events) =>
        host.Services.GetRequiredService<IngestService>().StoreAsync(events, "ingest", default);

    /// <summary>md5 of the whole table as text, in key order: equal means byte-identical content.</summary>
    public static async Task<string> StatsFingerprintAsync(NpgsqlDataSource db)
    {
        await using var conn = await db.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<string>(
            "SELECT md5(coalesce(string_agg(s::text, E'\\n' ORDER BY date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, revision), '')) FROM usage_stats s") ?? "";
    }

    public static async Task ResetAsync(NpgsqlDataSource db)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("TRUNCATE usage_events, usage_stats, aggregated_days, cost_rates, job_runs, late_events, late_tool_calls, aggregation_failures");
        // Partitions of earlier tests would count as days with events.
        foreach (var p in await conn.QueryAsync<string>("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'usage_events'::regclass"))
            await conn.ExecuteAsync($"DROP TABLE \"{p}\"");
    }
}

public class DailyAggregationTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        await AggregationFixtures.ResetAsync(db.DataSource);
        _host = await AggregatorHost.StartAsync(db.ConnectionString, verb: "aggregate", args: ["--from", "2026-01-01"]);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private DailyAggregator Aggregator => _host.Services.GetRequiredService<DailyAggregator>();

    private async Task<DayResult> AggregateAsync(string day)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await Aggregator.AggregateDayAsync(conn, DateOnly.Parse(day), default);
    }

    [Fact]
    public async Task EveryColumnMatchesAHandComputedFixture()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from, bytes_per_token, max_output_tokens)
                VALUES ('gpt-4o', 'gpt-4o', 'USD', 2.5, 10, '2026-01-01', 4, 400)
                """);
        await AggregationFixtures.StoreAsync(_host,
            AggregationFixtures.Call("2026-11-02T00:00:00Z", 0.5),
            AggregationFixtures.Call("2026-11-02T08:00:00Z", 1.1, status: "failure"),
            AggregationFixtures.Call("2026-11-02T12:00:00+02:00", 1.1, inputTokens: 1000),
            AggregationFixtures.Call("2026-11-02T23:59:59.999Z", 2.0),
            AggregationFixtures.Call("2026-11-01T23:59:59Z", 99), // the day before
            AggregationFixtures.Call("2026-11-02T09:00:00Z", 7, model: "unknown-model"));

        var result = await AggregateAsync("2026-11-02");
        Assert.Equal(new DayResult(new DateOnly(2026, 11, 2), DayOutcome.Aggregated, 5, 2), result);

        await using var check = await db.DataSource.OpenConnectionAsync();
        var row = await check.QuerySingleAsync(
            "SELECT * FROM usage_stats WHERE date = '2026-11-02' AND model = 'gpt-4o'");
        Assert.Equal(("agent-a", "search", "github", "u1", "acme"),
            ((string)row.agent_id, (string)row.tool_name, (string)row.mcp_server_label, (string)row.user_id, (string)row.tenant_id));
        Assert.Equal((4L, 3L, 1L), ((long)row.call_count, (long)row.success_count, (long)row.failure_count));
        Assert.Equal(4.7, (double)row.total_latency_ms, 9);
        Assert.Equal(1.175, (double)row.avg_latency_ms, 9);
        // percentile_cont(0.95) of 0.5, 1.1, 1.1, 2.0: position 0.95·3 = 2.85 → 1.1 + 0.85·(2.0 − 1.1) = 1.865
        Assert.Equal(1.865, (double)row.p95_latency_ms, 9);
        // buckets: 0.5 → 0; 1.1 → 1 (twice); 2.0 → 1 + floor(ln 2 / ln 1.25) = 4
        Assert.Equal([1, 2, 0, 0, 1], (int[])row.latency_histogram);
        // input: 3 × ceil(1001 / 4) = 3 × 251 plus the gateway's 1000; output: 4 × min(2000 / 4, 400)
        Assert.Equal(1753L, (long)row.estimated_input_tokens);
        Assert.Equal(1600L, (long)row.estimated_output_tokens);
        // (1753 · 2.5 + 1600 · 10) / 1e6
        Assert.Equal(0.0203825m, (decimal)row.estimated_cost);
        Assert.Equal("USD", (string)row.currency);

        var unpriced = await check.QuerySingleAsync<(long calls, decimal? cost, string? currency, double p95)>(
            "SELECT call_count, estimated_cost, currency, p95_latency_ms FROM usage_stats WHERE model = 'unknown-model'");
        Assert.Equal((1L, (decimal?)null, (string?)null, 7.0), unpriced);
    }

    [Fact]
    public async Task EachGroupCostsExactlyTheSumOfItsEventsCosts()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                INSERT INTO cost_rates (name, model, server_label, currency, input_per_million, output_per_million, cached_input_per_million, tool_call_price, effective_from, bytes_per_token, max_output_tokens) VALUES
                  ('gpt', 'gpt-4o', NULL, 'USD', 2.5, 10, 1.25, NULL, '2026-01-01', 3, 700),
                  ('mini', 'gpt-4o-mini', NULL, 'USD', 0.15, 0.6, NULL, NULL, '2026-01-01', 4, NULL),
                  ('tavily', NULL, 'tavily', 'USD', 0, 0, NULL, 0.008, '2026-01-01', 4, NULL),
                  ('eu', NULL, 'eu-search', 'EUR', 0, 0, NULL, 0.002, '2026-01-01', 4, NULL);
                """);
        var events = new List<UsageEvent>();
        var rng = new Random(5);
        foreach (var i in Enumerable.Range(0, 300))
        {
            var e = AggregationFixtures.Call($"2026-11-05T{i % 24:00}:{i % 60:00}:00Z", rng.Next(1, 900), agent: $"a{i % 3}",
                model: new[] { "gpt-4o", "gpt-4o-mini", "llama" }[i % 3], requestBytes: rng.Next(10_000), responseBytes: rng.Next(50_000),
                inputTokens: i % 4 == 0 ? rng.Next(100, 5000) : null, server: new[] { "tavily", "github", "eu-search" }[i % 5 % 3]);
            events.Add(e.InputTokens is { } input && i % 8 == 0 ? e with { CachedInputTokens = input / 3, OutputTokens = rng.Next(900) } : e);
        }
        await AggregationFixtures.StoreAsync(_host, [.. events]);
        await AggregateAsync("2026-11-05");

        await using var check = await db.DataSource.OpenConnectionAsync();
        var mismatches = await check.QueryAsync<string>(
            """
            SELECT s.agent_id || '/' || s.model || '/' || s.mcp_server_label || ': ' || coalesce(s.estimated_cost::text, 'NULL') || ' vs ' || coalesce(e.cost::text, 'NULL')
            FROM usage_stats s
            JOIN (SELECT agent_id, model, server_label, sum(estimated_cost)::numeric(24, 10) AS cost, max(currency) AS currency
                  FROM usage_events_estimated WHERE day = '2026-11-05' GROUP BY 1, 2, 3) e
              ON e.agent_id = s.agent_id AND e.model = s.model AND e.server_label = s.mcp_server_label
            WHERE s.date = '2026-11-05' AND (s.estimated_cost IS DISTINCT FROM e.cost OR s.currency IS DISTINCT FROM e.currency)
            """);
        Assert.Empty(mismatches);
        Assert.True(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_stats WHERE estimated_cost IS NULL") > 0);
        Assert.True(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_stats WHERE model = 'gpt-4o' AND mcp_server_label = 'eu-search' AND currency IS NULL") > 0);
        Assert.True(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_stats WHERE model = 'gpt-4o' AND mcp_server_label = 'tavily' AND estimated_cost > 0") > 0);
        Assert.Equal(300L, await check.ExecuteScalarAsync<long>("SELECT sum(call_count) FROM usage_stats"));
    }

    [Fact]
    public async Task ADayIsNeverChangedAgainEvenByLateEventsOrNewRates()
    {
        await AggregationFixtures.StoreAsync(_host, AggregationFixtures.Call("2026-11-03T10:00:00Z", 10), AggregationFixtures.Call("2026-11-03T11:00:00Z", 30));
        Assert.Equal(DayOutcome.Aggregated, (await AggregateAsync("2026-11-03")).Outcome);
        var before = await AggregationFixtures.StatsFingerprintAsync(db.DataSource);

        await AggregationFixtures.StoreAsync(_host, AggregationFixtures.Call("2026-11-03T12:00:00Z", 5000, agent: "late"));
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from) VALUES ('r', 'gpt-4o', 'USD', 1, 1, '2026-01-01')");
        var again = await AggregateAsync("2026-11-03");

        Assert.Equal(new DayResult(new DateOnly(2026, 11, 3), DayOutcome.AlreadyAggregated, 2, 1), again);
        Assert.Equal(before, await AggregationFixtures.StatsFingerprintAsync(db.DataSource));
        await using var check = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(1L, await check.ExecuteScalarAsync<long>("SELECT event_count FROM late_events WHERE date = '2026-11-03'"));
        Assert.Equal(3L, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events"));
    }

    [Fact]
    public async Task TodayAndLaterAreRefused()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => AggregateAsync(today));
        Assert.Contains("is not closed yet", e.Message);
    }

    private sealed class FailingRollup : IDailyRollup
    {
        public async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DayPass pass, CancellationToken ct)
        {
            await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS rollup_probe (day date)", transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO rollup_probe VALUES (@Day)", new { pass.Day }, transaction);
            throw new InvalidOperationException("rollup broke");
        }
    }

    [Fact]
    public async Task RollupsRunInTheDaysTransactionSoAFailureLeavesNothing()
    {
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, verb: "aggregate", args: ["--from", "2026-01-01"],
            services: s => s.AddSingleton<IDailyRollup, FailingRollup>());
        await AggregationFixtures.StoreAsync(host, AggregationFixtures.Call("2026-11-04T10:00:00Z", 10));
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            host.Services.GetRequiredService<DailyAggregator>().AggregateDayAsync(conn, new DateOnly(2026, 11, 4), default));
        Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_stats"));
        Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM aggregated_days"));
        Assert.Null(await conn.ExecuteScalarAsync<string>("SELECT to_regclass('rollup_probe')::text"));
    }

    [Fact]
    public async Task TheAggregateCommandDoesClosedDaysAndRefusesToday()
    {
        await AggregationFixtures.StoreAsync(_host, AggregationFixtures.Call("2026-10-01T10:00:00Z", 10), AggregationFixtures.Call("2026-10-03T10:00:00Z", 10));
        var args = new[] { "--ConnectionStrings:Postgres", db.ConnectionString, "--Logging:LogLevel:Default", "Warning" };
        Assert.Equal(0, await AggregatorApp.RunAsync(CommandLine.Parse(["aggregate", "--from", "2026-10-01", "--to", "2026-10-02", .. args])));
        await using var conn = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(["2026-10-01", "2026-10-02"], await conn.QueryAsync<string>("SELECT date::text FROM aggregated_days ORDER BY date"));
        Assert.Equal(1L, await conn.ExecuteScalarAsync<long>("SELECT sum(call_count) FROM usage_stats"));

        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
        var e = await Assert.ThrowsAsync<CommandLineException>(() => AggregatorApp.RunAsync(CommandLine.Parse(["aggregate", "--from", "2026-10-03", "--to", today, .. args])));
        Assert.Contains($"{today} is not a closed day", e.Message);
        Assert.Equal(2L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM aggregated_days"));
    }
}

public class AggregateCommandRatesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task RatesGivenWithResourcesPriceTheDaysAndWithoutThemTheDatabasesRatesApply()
    {
        await AggregationFixtures.ResetAsync(db.DataSource);
        await using (var writer = await AggregatorHost.StartAsync(db.ConnectionString, verb: "aggregate", args: ["--from", "2026-01-01"]))
            await AggregationFixtures.StoreAsync(writer,
                AggregationFixtures.Call("2026-10-05T10:00:00Z", 10, inputTokens: 1_000_000), AggregationFixtures.Call("2026-10-06T10:00:00Z", 10, inputTokens: 1_000_000));
        var dir = Directory.CreateTempSubdirectory("agentmeter-rates-");
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "rates.yaml"), AggregationFixtures.Gpt4oRate);
        var common = new[] { "--ConnectionStrings:Postgres", db.ConnectionString, "--Logging:LogLevel:Default", "Warning" };
        try
        {
            Assert.Equal(0, await AggregatorApp.RunAsync(CommandLine.Parse(["aggregate", "--from", "2026-10-05", "--resources", dir.FullName, .. common])));
            await using (var conn = await db.DataSource.OpenConnectionAsync())
                await conn.ExecuteAsync("UPDATE cost_rates SET input_per_million = 100"); // the database's rates from now on
            Assert.Equal(0, await AggregatorApp.RunAsync(CommandLine.Parse(["aggregate", "--from", "2026-10-06", .. common])));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
        await using var check = await db.DataSource.OpenConnectionAsync();
        // 1M input tokens at 2.50 per million, plus ceil(2000 / 4) = 500 output tokens at 10 per million
        Assert.Equal(2.505m, await check.ExecuteScalarAsync<decimal>("SELECT estimated_cost FROM usage_stats WHERE date = '2026-10-05'"));
        Assert.Equal(100.005m, await check.ExecuteScalarAsync<decimal>("SELECT estimated_cost FROM usage_stats WHERE date = '2026-10-06'"));
    }
}

/// <summary>The scheduler on a fake clock: catch-up of every missed day at start, then at each cron occurrence.</summary>
public class AggregationScheduleTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private async Task<List<string>> AggregatedDaysAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return (await conn.QueryAsync<string>("SELECT date::text FROM aggregated_days ORDER BY date")).ToList();
    }

    private async Task WaitForDaysAsync(int count)
    {
        for (var i = 0; i < 100 && (await AggregatedDaysAsync()).Count < count; i++) await Task.Delay(100);
    }

    [Fact]
    public async Task CatchesUpAfterDowntimeThenRunsAtMidnightUtc()
    {
        await AggregationFixtures.ResetAsync(db.DataSource);
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-10T12:00:00Z"));
        // Events while the service was down: five past days (one gap), and today.
        await using (var writer = await AggregatorHost.StartAsync(db.ConnectionString, verb: "aggregate", args: ["--from", "2026-01-01"],
                         services: s => s.AddSingleton<TimeProvider>(clock)))
        {
            foreach (var day in new[] { "2026-11-03", "2026-11-05", "2026-11-06", "2026-11-08", "2026-11-09", "2026-11-10" })
                await AggregationFixtures.StoreAsync(writer, AggregationFixtures.Call($"{day}T10:00:00Z", 10));
        }

        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, services: s => s.AddSingleton<TimeProvider>(clock));
        await WaitForDaysAsync(5);
        Assert.Equal(["2026-11-03", "2026-11-05", "2026-11-06", "2026-11-08", "2026-11-09"], await AggregatedDaysAsync());

        // Not yet midnight: nothing more. The closed 2026-11-10 is done once its grace (15 minutes by default) is over.
        await Task.Delay(300); // let the scheduler start waiting for the next occurrence
        clock.Advance(TimeSpan.FromHours(11.9));
        await Task.Delay(300);
        Assert.Equal(5, (await AggregatedDaysAsync()).Count);
        clock.Advance(TimeSpan.FromMinutes(6 + 14)); // 00:14
        await Task.Delay(300);
        Assert.Equal(5, (await AggregatedDaysAsync()).Count);
        clock.Advance(TimeSpan.FromMinutes(1));
        await WaitForDaysAsync(6);
        Assert.Equal("2026-11-10", (await AggregatedDaysAsync())[^1]);

        // Passes that found nothing to do are not recorded (a pass records itself just after its days commit).
        await using var conn = await db.DataSource.OpenConnectionAsync();
        const string Runs = "SELECT count(*) FROM job_runs WHERE job = 'aggregation'";
        for (var i = 0; i < 100 && await conn.ExecuteScalarAsync<long>(Runs) < 2; i++) await Task.Delay(50);
        Assert.Equal(2L, await conn.ExecuteScalarAsync<long>(Runs + " AND result = 'Succeeded'"));
    }

    [Fact]
    public async Task AFailedRunIsRecordedAndTheDayIsLeftForTheNextRun()
    {
        await AggregationFixtures.ResetAsync(db.DataSource);
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-10T12:00:00Z"));
        await using (var writer = await AggregatorHost.StartAsync(db.ConnectionString, verb: "aggregate", args: ["--from", "2026-01-01"],
                         services: s => s.AddSingleton<TimeProvider>(clock)))
            await AggregationFixtures.StoreAsync(writer, AggregationFixtures.Call("2026-11-09T10:00:00Z", 10));

        await using var host = await AggregatorHost.StartAsync(db.ConnectionString,
            services: s => { s.AddSingleton<TimeProvider>(clock); s.AddSingleton<IDailyRollup, BrokenRollup>(); });
        await using var conn = await db.DataSource.OpenConnectionAsync();
        string? error = null;
        for (var i = 0; i < 100 && error is null; i++, await Task.Delay(100))
            error = await conn.ExecuteScalarAsync<string>("SELECT details->'failed'->0->>'error' FROM job_runs WHERE job = 'aggregation' AND result = 'Failed'");
        Assert.Equal("rollup broke", error);
        Assert.Empty(await AggregatedDaysAsync());
        Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_stats"));
    }

    private sealed class BrokenRollup : IDailyRollup
    {
        public Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DayPass pass, CancellationToken ct) =>
            throw new InvalidOperationException("rollup broke");
    }
}
