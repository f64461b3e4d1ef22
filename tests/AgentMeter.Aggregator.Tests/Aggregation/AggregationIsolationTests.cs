using System.Net;
using System.Text.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Aggregator.Tests.Aggregation;

/// <summary>
/// A day that still fails (here: a constraint PostgreSQL enforces for that day only) is reported —
/// log line, gauge, GET /api/v1/aggregation — and never blocks the days after it; retention keeps its
/// raw events; once the cause is gone the retry aggregates it.
/// </summary>
public class AggregationIsolationTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private const string Admin = "admin-secret";
    private const string Tenant = "acme-secret";
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-10T12:00:00Z"));
    private readonly LogCapture _logs = new();
    private readonly TempFolder _resources = new();

    public async Task InitializeAsync()
    {
        await AggregationFixtures.ResetAsync(db.DataSource);
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync("TRUNCATE usage_stats_by_dimension, usage_stats_hourly, late_tool_calls, aggregation_failures");
    }

    public Task DisposeAsync()
    {
        _resources.Dispose();
        return Task.CompletedTask;
    }

    private async Task<T?> PollAsync<T>(string sql, Func<T?, bool> done)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        for (var until = DateTime.UtcNow.AddSeconds(20); ; await Task.Delay(50))
        {
            var value = await conn.ExecuteScalarAsync<T>(sql);
            if (done(value) || DateTime.UtcNow > until) return value;
        }
    }

    [Fact]
    public async Task AFailingDayIsReportedRetriedAndNeverBlocksTheDaysAfterIt()
    {
        await using (var writer = await AggregatorHost.StartAsync(db.ConnectionString, verb: "aggregate", args: ["--from", "2026-01-01"],
                         services: s => s.AddSingleton<TimeProvider>(_clock)))
            foreach (var day in new[] { "2026-11-03", "2026-11-04", "2026-11-05" })
                await AggregationFixtures.StoreAsync(writer, AggregationFixtures.Call($"{day}T10:00:00Z", 10));
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("ALTER TABLE usage_stats ADD CONSTRAINT fault_injected CHECK (date <> '2026-11-04')");
        var policy = _resources.Write("retention.yaml",
            """
            apiVersion: agentmeter.io/v1alpha1
            kind: RetentionPolicy
            metadata:
              name: default
            spec:
              schedule: "0 3 * * *"
              rawEventRetentionDays: 1
            """);

        // serve: the scheduler's first pass runs at start.
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString,
            new Dictionary<string, string?> { ["Auth:AdminToken"] = Admin, ["Auth:TenantTokens:acme"] = Tenant },
            args: ["--resources", policy], services: s => s.AddSingleton<TimeProvider>(_clock), configure: b => b.Logging.AddProvider(_logs));
        try
        {
            Assert.Equal(1L, await PollAsync<long>("SELECT count(*) FROM aggregation_failures", n => n == 1));
            Assert.Equal("2026-11-03,2026-11-05", await PollAsync<string>(
                "SELECT string_agg(date::text, ',' ORDER BY date) FROM aggregated_days", s => s == "2026-11-03,2026-11-05"));
            Assert.True(await _logs.WaitForAsync(l => l.StartsWith("Error") && l.Contains("Aggregating 2026-11-04 failed (attempt 1)")
                && l.Contains("fault_injected") && l.Contains("the days after it go on meanwhile") && l.Contains("GET /api/v1/aggregation")));
            await using (var conn = await db.DataSource.OpenConnectionAsync())
                Assert.Equal(("aggregate", 1, DateTimeOffset.Parse("2026-11-10T12:05:00Z")), await conn.QuerySingleAsync<(string, int, DateTimeOffset)>(
                    "SELECT stage, attempts, next_attempt_at FROM aggregation_failures"));
            // The gauge is refreshed after the pass; the job run says what failed.
            using var anonymous = host.Client();
            for (var i = 0; i < 200 && !(await anonymous.GetStringAsync("/metrics")).Contains("agentmeter_aggregation_failed_dates 1"); i++) await Task.Delay(50);
            Assert.Contains("agentmeter_aggregation_failed_dates 1", await anonymous.GetStringAsync("/metrics"));

            Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/api/v1/aggregation")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await host.Client(Tenant).GetAsync("/api/v1/aggregation")).StatusCode);
            using (var status = JsonDocument.Parse(await host.Client(Admin).GetStringAsync("/api/v1/aggregation")))
            {
                var failed = status.RootElement.GetProperty("failedDays").EnumerateArray().Single();
                Assert.Equal(("2026-11-04", "aggregate", 1), (failed.GetProperty("date").GetString(), failed.GetProperty("stage").GetString(),
                    failed.GetProperty("attempts").GetInt32()));
                Assert.Contains("fault_injected", failed.GetProperty("error").GetString());
                Assert.Equal(JsonValueKind.Null, failed.GetProperty("lateEvents").ValueKind);
                Assert.Equal(["2026-11-04:Failed"],
                    status.RootElement.GetProperty("waitingDays").EnumerateArray().Select(w => $"{w.GetProperty("date").GetString()}:{w.GetProperty("reason").GetString()}"));
                Assert.Equal("Failed", status.RootElement.GetProperty("lastRun").GetProperty("result").GetString());
                Assert.Equal("00:15:00", status.RootElement.GetProperty("grace").GetString());
            }

            // Retention drops the raw events of the aggregated days only.
            var retention = (await host.Services.GetRequiredService<RetentionPass>().RunAsync(waitForLock: true, default))!;
            Assert.True(retention.Succeeded, retention.Details.Message);
            Assert.Equal(["2026-11-04"], retention.Details.PartitionsKept);
            Assert.Equal(2, retention.Details.PartitionsDropped);

            // Not retried before its time, even by a pass that runs.
            var scheduler = host.Services.GetRequiredService<AggregationScheduler>();
            _clock.Advance(TimeSpan.FromMinutes(1));
            await scheduler.RunAsync(default);
            await using (var conn = await db.DataSource.OpenConnectionAsync())
                Assert.Equal(1, await conn.ExecuteScalarAsync<int>("SELECT attempts FROM aggregation_failures"));
        }
        finally
        {
            await using var conn = await db.DataSource.OpenConnectionAsync();
            await conn.ExecuteAsync("ALTER TABLE usage_stats DROP CONSTRAINT IF EXISTS fault_injected");
        }

        // The cause fixed, the retry aggregates the day and clears the report.
        _clock.Advance(TimeSpan.FromMinutes(4));
        await host.Services.GetRequiredService<AggregationScheduler>().RunAsync(default);
        Assert.Equal(3L, await PollAsync<long>("SELECT count(*) FROM aggregated_days", n => n == 3));
        Assert.Equal(0L, await PollAsync<long>("SELECT count(*) FROM aggregation_failures", n => n == 0));
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            Assert.Equal(1L, await conn.ExecuteScalarAsync<long>("SELECT call_count FROM usage_stats WHERE date = '2026-11-04'"));
        for (var i = 0; i < 200 && !(await host.Client().GetStringAsync("/metrics")).Contains("agentmeter_aggregation_failed_dates 0"); i++) await Task.Delay(50);
        Assert.Contains("agentmeter_aggregation_failed_dates 0", await host.Client().GetStringAsync("/metrics"));
    }

    [Fact]
    public void ThePassRunsAtTheScheduleDelayedByTheGraceOrEveryPassInterval()
    {
        var schedule = Cronos.CronExpression.Parse("0 0 * * *");
        var options = new AggregationOptions();
        Assert.Equal(DateTimeOffset.Parse("2026-11-10T12:05:00Z"), AggregationScheduler.NextRun(schedule, options, DateTimeOffset.Parse("2026-11-10T12:00:00Z")));
        Assert.Equal(DateTimeOffset.Parse("2026-11-11T00:15:00Z"), AggregationScheduler.NextRun(schedule, options, DateTimeOffset.Parse("2026-11-11T00:12:00Z")));
        Assert.Equal(DateTimeOffset.Parse("2026-11-11T00:15:00Z"), AggregationScheduler.NextRun(schedule, options, DateTimeOffset.Parse("2026-11-11T00:10:00Z")));
        options.PassInterval = TimeSpan.FromHours(6);
        Assert.Equal(DateTimeOffset.Parse("2026-11-11T00:15:00Z"), AggregationScheduler.NextRun(schedule, options, DateTimeOffset.Parse("2026-11-10T23:00:00Z")));
    }
}
