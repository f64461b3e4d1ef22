using System.Net.Http.Json;
using AgentMeter.Aggregator.Analytics;

namespace AgentMeter.Aggregator.Tests.Analytics;

public class HealthTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>
{
    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task TheStateBeforeTheRangeIsCarriedInAndUptimeCountsTimeNotOpen()
    {
        await using (var cmd = api.Db.CreateCommand(
            """
            INSERT INTO server_health_events VALUES
              ('2026-07-20T08:00:00Z', 'github', 'closed'),
              ('2026-07-31T18:00:00Z', 'github', 'open'),       -- before the range: carried in
              ('2026-08-01T06:00:00Z', 'github', 'half_open'),
              ('2026-08-01T06:00:00Z', 'github', 'half_open'),  -- repeated report: same interval
              ('2026-08-01T06:30:00Z', 'github', 'closed'),
              ('2026-08-02T12:00:00Z', 'github', 'open'),
              ('2026-08-03T00:00:00Z', 'github', 'closed'),     -- after the range
              ('2026-08-01T12:00:00Z', 'jira', 'open');
            """))
            await cmd.ExecuteNonQueryAsync();

        using var client = api.Admin();
        var health = (await client.GetFromJsonAsync<HealthResponse>("/api/v1/analytics/health?from=2026-08-01&to=2026-08-02"))!;

        var github = health.Servers.Single(s => s.Server == "github");
        Assert.Equal(
            [
                new BreakerInterval("open", At("2026-08-01T00:00:00Z"), At("2026-08-01T06:00:00Z")),
                new BreakerInterval("half_open", At("2026-08-01T06:00:00Z"), At("2026-08-01T06:30:00Z")),
                new BreakerInterval("closed", At("2026-08-01T06:30:00Z"), At("2026-08-02T12:00:00Z")),
                new BreakerInterval("open", At("2026-08-02T12:00:00Z"), At("2026-08-03T00:00:00Z")),
            ],
            github.Intervals);
        Assert.Equal("open", github.CurrentState);
        // Open 6 h + 12 h of 48 h.
        Assert.Equal(Math.Round(100 * 30.0 / 48, 3), github.UptimePercent);

        // Nothing known before jira's first report: uptime over the known 36 h only.
        var jira = health.Servers.Single(s => s.Server == "jira");
        Assert.Equal([new BreakerInterval("open", At("2026-08-01T12:00:00Z"), At("2026-08-03T00:00:00Z"))], jira.Intervals);
        Assert.Equal(0, jira.UptimePercent);
    }

    [Fact]
    public async Task ATenantSeesTheServersItsCallsWentTo()
    {
        await StatsRows.InsertAsync(api.Db, new StatsRow(new DateOnly(2026, 5, 2), Server: "slack", Tenant: "tenant-a"));
        await using (var cmd = api.Db.CreateCommand(
            "INSERT INTO server_health_events VALUES ('2026-05-02T01:00:00Z', 'slack', 'closed'), ('2026-05-02T01:00:00Z', 'billing', 'open')"))
            await cmd.ExecuteNonQueryAsync();

        using var client = api.Client(AnalyticsHost.TenantAToken);
        var health = (await client.GetFromJsonAsync<HealthResponse>("/api/v1/analytics/health?from=2026-05-01&to=2026-05-03"))!;
        Assert.Equal(["slack"], health.Servers.Select(s => s.Server));
    }
}
