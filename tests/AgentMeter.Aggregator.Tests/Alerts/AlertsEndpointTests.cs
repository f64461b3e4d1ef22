using System.Net;
using System.Text.Json;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Aggregator.Tests.Webhooks;

namespace AgentMeter.Aggregator.Tests.Alerts;

/// <summary>GET /api/v1/alerts: the contract shape, states after evaluation, and tenant isolation.</summary>
public class AlertsEndpointTests
{
    [Fact]
    public async Task ShowsEveryAlertWithItsStateAndTenantTokensSeeOnlyTheirOwn()
    {
        await using var kit = await WebhookHostKit.CreateAsync(
            WebhookHostKit.Alert("    - name: oncall\n      url: https://hooks.example.com/x\n", extra: "  groupBy: agent\n") +
            WebhookHostKit.Alert("    - name: oncall\n      url: https://hooks.example.com/y\n", name: "other-tenant")
                .Replace("tenantId: tenant-a", "tenantId: tenant-b"));
        kit.Settings["Auth:AdminToken"] = "admin-token";
        kit.Settings["Auth:TenantTokens:tenant-a"] = "tenant-a-token";
        kit.Settings["Webhooks:DispatcherEnabled"] = "false";
        await using var host = await kit.StartAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/api/v1/alerts")).StatusCode);
        using (var before = JsonDocument.Parse(await host.Client("admin-token").GetStringAsync("/api/v1/alerts")))
            Assert.All(before.RootElement.GetProperty("alerts").EnumerateArray(), a => Assert.Equal("Unknown", a.GetProperty("state").GetString()));

        var firedAround = DateTimeOffset.UtcNow;
        await kit.FireAsync(host);
        using var admin = JsonDocument.Parse(await host.Client("admin-token").GetStringAsync("/api/v1/alerts"));
        var alerts = admin.RootElement.GetProperty("alerts").EnumerateArray().ToList();
        Assert.Equal(["calls", "other-tenant"], alerts.Select(a => a.GetProperty("name").GetString()));
        var calls = alerts[0];
        Assert.Equal("team-a", calls.GetProperty("namespace").GetString());
        Assert.Equal("callCount", calls.GetProperty("metric").GetString());
        Assert.Equal("3", calls.GetProperty("threshold").GetString());
        Assert.Equal("1h", calls.GetProperty("window").GetString());
        Assert.Equal("critical", calls.GetProperty("severity").GetString());
        Assert.Equal("Firing", calls.GetProperty("state").GetString());
        Assert.Equal("5", calls.GetProperty("currentValue").GetString());
        Assert.InRange(calls.GetProperty("lastEvaluationTime").GetDateTimeOffset(), firedAround.AddSeconds(-5), DateTimeOffset.UtcNow);
        Assert.InRange(calls.GetProperty("lastFiredTime").GetDateTimeOffset(), firedAround.AddSeconds(-5), DateTimeOffset.UtcNow);
        Assert.Equal(["agent-a"], calls.GetProperty("firingGroups").EnumerateArray().Select(g => g.GetString()));
        var group = Assert.Single(calls.GetProperty("groups").EnumerateArray());
        Assert.Equal(("agent-a", "5", "Firing"), (group.GetProperty("group").GetString(), group.GetProperty("value").GetString(), group.GetProperty("state").GetString()));
        Assert.True(group.TryGetProperty("since", out _));
        var hook = Assert.Single(calls.GetProperty("webhooks").EnumerateArray());
        Assert.Equal("oncall", hook.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, calls.GetProperty("error").ValueKind);
        // The other tenant's alert saw no data of its own.
        Assert.Equal(("Ok", "0", JsonValueKind.Null),
            (alerts[1].GetProperty("state").GetString(), alerts[1].GetProperty("currentValue").GetString(), alerts[1].GetProperty("lastFiredTime").ValueKind));

        using var tenant = JsonDocument.Parse(await host.Client("tenant-a-token").GetStringAsync("/api/v1/alerts"));
        Assert.Equal(["calls"], tenant.RootElement.GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
    }
}

/// <summary>Settings the aggregator cannot run with stop it at start with a message naming the setting.</summary>
public class AlertSettingsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Theory]
    [InlineData("Alerts:EvaluationInterval", "00:00:00", "Alerts__EvaluationInterval must be a positive time span")]
    [InlineData("Webhooks:MaxAttempts", "0", "Webhooks__MaxAttempts must be at least 1")]
    [InlineData("Webhooks:AttemptTimeout", "-00:00:01", "Webhooks__AttemptTimeout must be between")]
    [InlineData("Webhooks:MaxDelay", "00:00:01", "Webhooks__MaxDelay (00:00:01) must not be below Webhooks__BaseDelay (00:00:02)")]
    [InlineData("Metrics:MaxLabelValues", "0", "Metrics__MaxLabelValues must be at least 1")]
    [InlineData("Ingest:Writers", "0", "Ingest__Writers must be at least 1")]
    public async Task BadSettingsAreRefusedByName(string key, string value, string message)
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { [key] = value }));
        Assert.Contains(message, e.Message);
    }
}
