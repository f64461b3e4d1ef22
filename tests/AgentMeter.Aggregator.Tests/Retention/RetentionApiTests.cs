using System.Net;
using System.Text.Json;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Retention;

public class RetentionApiTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task ReportsThePolicyInForceTheLastRunAndTheNextForAdminsOnly()
    {
        using var dir = new TempFolder();
        dir.Write("policy.yaml",
            RetentionRig.PolicyYaml("schedule: \"15 4 * * *\"\ntimeZone: Asia/Tokyo\ndailyRetentionDays: 30\nrawEventRetentionDays: 10"));
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await UsageSeed.SeedAsync(db.DataSource, today.AddDays(-75), today, groups: 6);
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:AdminToken"] = "admin-secret",
            ["Auth:TenantTokens:tenant-0"] = "tenant-secret",
        }, ["--resources", dir.Path]);

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/api/v1/retention")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client("tenant-secret").GetAsync("/api/v1/retention")).StatusCode);

        using var admin = host.Client("admin-secret");
        using (var before = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/retention")))
        {
            var policy = before.RootElement.GetProperty("policy");
            Assert.Equal("15 4 * * *", policy.GetProperty("schedule").GetString());
            Assert.Equal("Asia/Tokyo", policy.GetProperty("timeZone").GetString());
            Assert.Equal(30, policy.GetProperty("dailyRetentionDays").GetInt32());
            Assert.True(policy.GetProperty("monthlyRollup").GetBoolean());
            Assert.Equal(JsonValueKind.Null, policy.GetProperty("monthlyRetentionMonths").ValueKind);
            Assert.Equal(10, policy.GetProperty("rawEventRetentionDays").GetInt32());
            Assert.Equal(JsonValueKind.Null, before.RootElement.GetProperty("lastRun").ValueKind);
            var next = before.RootElement.GetProperty("nextRunTime").GetDateTimeOffset();
            Assert.Equal(new TimeSpan(19, 15, 0), next.UtcDateTime.TimeOfDay); // 04:15 in Tokyo (UTC+9)
            Assert.InRange(next - DateTimeOffset.UtcNow, TimeSpan.Zero, TimeSpan.FromDays(1));
        }

        Assert.Equal(0, await host.Services.RunRetentionOnceAsync(CancellationToken.None));

        using var after = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/retention"));
        var run = after.RootElement.GetProperty("lastRun");
        Assert.Equal("Succeeded", run.GetProperty("result").GetString());
        var rolledUp = await UsageSeed.ScalarAsync<long>(db.DataSource, "SELECT coalesce(sum(days_rolled_up), 0) FROM (SELECT month, max(days_rolled_up) AS days_rolled_up FROM usage_stats_monthly GROUP BY month) m");
        // Whole months before the one holding today − 30: at least the 14 days from today − 75 on.
        Assert.True(rolledUp >= 14, $"expected the whole months before today − 30 to be rolled up, got {rolledUp}");
        Assert.Equal(rolledUp, run.GetProperty("daysRolledUp").GetInt32());
        Assert.Equal(0, run.GetProperty("partitionsDropped").GetInt32());
        Assert.Contains("rolled up", run.GetProperty("message").GetString());
        Assert.True(run.GetProperty("finishedAt").GetDateTimeOffset() >= run.GetProperty("startedAt").GetDateTimeOffset());
    }
}

public class RetentionFailureTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task AFailedPassLeavesTheMonthUntouchedExitsNonZeroAndIsReportedWithTheReason()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var first = new DateOnly(today.Year, today.Month, 1).AddMonths(-5);
        await UsageSeed.SeedAsync(db.DataSource, first, today, groups: 4);
        // A priced row without a currency: the rollup must refuse it rather than call it unpriced.
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await UsageSeed.ExecAsync(conn,
                """
                INSERT INTO usage_stats (date, agent_id, call_count, success_count, failure_count, total_latency_ms, avg_latency_ms,
                    p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens, estimated_cost, currency)
                VALUES ($1, 'agent-broken', 1, 1, 0, 5, 5, 5, '{0,0,0,0,0,0,0,0,1}', 10, 10, 0.5, NULL)
                """, first);
        var before = await UsageSeed.AllTotalsAsync(db.DataSource);
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Auth:AdminToken"] = "admin-secret" });

        Assert.Equal(1, await host.Services.RunRetentionOnceAsync(CancellationToken.None));

        UsageSeed.AssertSameTotals(before, await UsageSeed.AllTotalsAsync(db.DataSource));
        Assert.Equal(0L, await UsageSeed.ScalarAsync<long>(db.DataSource, "SELECT count(*) FROM usage_stats_monthly"));
        using var admin = host.Client("admin-secret");
        using var body = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/retention"));
        var run = body.RootElement.GetProperty("lastRun");
        Assert.Equal("Failed", run.GetProperty("result").GetString());
        Assert.Contains("currency", run.GetProperty("message").GetString());
        Assert.Equal(0, run.GetProperty("daysRolledUp").GetInt32());
    }
}
