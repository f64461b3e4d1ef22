using System.Net.Http.Json;
using AgentMeter.Aggregator.Analytics;

namespace AgentMeter.Aggregator.Tests.Analytics;

public class ErrorsTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>
{
    [Fact]
    public async Task ToolFailureRatesPerDayAndPerTool()
    {
        var day = new DateOnly(2026, 4, 6);
        await StatsRows.InsertAsync(api.Db,
            new StatsRow(day, Tool: "search", Calls: 80, Failures: 8),
            new StatsRow(day, Tool: "fetch", Calls: 20, Failures: 12),
            new StatsRow(day.AddDays(2), Tool: "search", Calls: 50, Failures: 0));

        using var client = api.Admin();
        var errors = (await client.GetFromJsonAsync<ErrorsResponse>("/api/v1/analytics/errors?from=2026-04-01&to=2026-04-30"))!;

        Assert.Equal([(day, 100L, 20L, (double?)0.2), (day.AddDays(2), 50L, 0L, 0.0)],
            errors.Days.Select(d => (d.Date, d.ToolCalls, d.ToolFailures, d.ToolFailureRate)));
        Assert.Equal([new ToolErrors("fetch", 20, 12, 0.6), new ToolErrors("search", 130, 8, 8 / 130.0)], errors.ByTool);
    }
}

/// <summary>Webhook delivery failure rate from webhook_attempts (one row per delivery attempt, written by the webhook dispatcher).</summary>
public class WebhookErrorsTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>
{
    [Fact]
    public async Task WebhookFailureRatesPerDayForTheAdminAndPerTenant()
    {
        using var client = api.Admin();
        await StatsRows.InsertAsync(api.Db, new StatsRow(new DateOnly(2026, 3, 2), Calls: 10));
        var before = (await client.GetFromJsonAsync<ErrorsResponse>("/api/v1/analytics/errors?from=2026-03-01&to=2026-03-31"))!;
        var quiet = Assert.Single(before.Days);
        Assert.Equal((0L, 0L, (double?)null), (quiet.WebhookDeliveries, quiet.WebhookFailures, quiet.WebhookFailureRate));

        await using (var cmd = api.Db.CreateCommand(
            """
            INSERT INTO webhook_attempts (outbox_id, attempted_at, succeeded, tenant_id, namespace, alert_name, webhook_name, event_type, duration_ms)
            SELECT 1, t::timestamptz, s, tenant, 'team-a', 'cost-cap', 'oncall', 'firing', 12
            FROM (VALUES ('2026-03-02T10:00:00Z', true, 'tenant-a'), ('2026-03-02T11:00:00Z', false, 'tenant-a'),
                         ('2026-03-02T12:00:00Z', false, 'tenant-b'), ('2026-03-02T13:00:00Z', true, 'tenant-b'),
                         ('2026-03-03T23:59:59Z', false, NULL)) v(t, s, tenant);
            """))
            await cmd.ExecuteNonQueryAsync();

        var all = (await client.GetFromJsonAsync<ErrorsResponse>("/api/v1/analytics/errors?from=2026-03-01&to=2026-03-31"))!;
        Assert.Equal([(new DateOnly(2026, 3, 2), 10L, 4L, 2L, (double?)0.5), (new DateOnly(2026, 3, 3), 0L, 1L, 1L, 1.0)],
            all.Days.Select(d => (d.Date, d.ToolCalls, d.WebhookDeliveries, d.WebhookFailures, d.WebhookFailureRate)));

        using var tenantA = api.Client(AnalyticsHost.TenantAToken);
        var mine = (await tenantA.GetFromJsonAsync<ErrorsResponse>("/api/v1/analytics/errors?from=2026-03-01&to=2026-03-31"))!;
        var day = Assert.Single(mine.Days);
        Assert.Equal((2L, 1L), (day.WebhookDeliveries, day.WebhookFailures));
    }
}
