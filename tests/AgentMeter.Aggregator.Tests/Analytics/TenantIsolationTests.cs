using System.Net;
using System.Net.Http.Json;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Entities.Domain;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Analytics;

/// <summary>
/// A tenant token sees its own tenant's rows only, on every endpoint and through every group_by;
/// asking for another tenant is a 403, not an empty answer. Every value of tenant-b and of usage
/// without a tenant starts with "b-" / "n-", so any leak shows up in the raw body.
/// </summary>
public class TenantIsolationTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>, IAsyncLifetime
{
    private const string Range = "from=2026-10-01&to=2026-10-31";
    public static readonly TheoryData<string> Endpoints = new(["usage", "costs", "heatmap", "errors", "health"]);
    public static readonly TheoryData<string> Groupings = new(Dimension.All.Select(d => d.Name));

    public async Task InitializeAsync()
    {
        await StatsRows.ClearAsync(api.Db);
        var day = new DateOnly(2026, 10, 5);
        await StatsRows.InsertAsync(api.Db,
            Row(day, "a", "tenant-a", failures: 1), Row(day.AddDays(1), "a", "tenant-a"),
            Row(day, "b", "tenant-b", failures: 3), Row(day, "n", ""));
        await using var cmd = api.Db.CreateCommand(
            """
            INSERT INTO usage_stats_hourly VALUES ('2026-10-05', 9, 'tenant-a', 'a-tool', 5, 1), ('2026-10-05', 9, 'tenant-b', 'b-tool', 7, 0),
                                                  ('2026-10-05', 9, '', 'n-tool', 2, 0);
            INSERT INTO server_health_events VALUES ('2026-10-05T10:00:00Z', 'a-server', 'open'), ('2026-10-05T11:00:00Z', 'a-server', 'closed'),
                                                    ('2026-10-05T10:00:00Z', 'b-server', 'open'), ('2026-10-05T10:00:00Z', 'n-server', 'open');
            """);
        await cmd.ExecuteNonQueryAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static StatsRow Row(DateOnly day, string p, string tenant, long failures = 0) => new(
        day, Agent: $"{p}-agent", Tool: $"{p}-tool", Server: $"{p}-server", User: $"{p}-user", Tenant: tenant, Model: $"{p}-model",
        Failures: failures, Currency: p == "b" ? "EUR" : "USD");

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task AnotherTenantIsForbiddenNotEmpty(string endpoint)
    {
        using var client = api.Client(AnalyticsHost.TenantAToken);
        var response = await client.GetAsync($"/api/v1/analytics/{endpoint}?{Range}&tenant=tenant-b");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<ParameterError>();
        Assert.Equal("tenant", body!.Parameter);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task WithoutATokenNothingIsAnswered(string endpoint)
    {
        using var client = api.Client("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"/api/v1/analytics/{endpoint}?{Range}")).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task ATenantSeesOnlyItsOwnRows(string endpoint)
    {
        using var client = api.Client(AnalyticsHost.TenantAToken);
        foreach (var query in new[] { Range, $"{Range}&tenant=tenant-a" })
            AssertOnlyTenantA(await client.GetStringAsync($"/api/v1/analytics/{endpoint}?{query}"));
    }

    [Theory]
    [MemberData(nameof(Groupings))]
    public async Task NoGroupingLeaksAnotherTenant(string groupBy)
    {
        using var client = api.Client(AnalyticsHost.TenantAToken);
        foreach (var endpoint in new[] { "usage", "costs" })
            AssertOnlyTenantA(await client.GetStringAsync($"/api/v1/analytics/{endpoint}?{Range}&group_by={groupBy}"));
    }

    [Fact]
    public async Task GroupingByTenantShowsATenantTokenOnlyItself()
    {
        using var client = api.Client(AnalyticsHost.TenantAToken);
        var usage = await client.GetFromJsonAsync<UsageResponse>($"/api/v1/analytics/usage?{Range}&group_by=tenant");
        Assert.Equal(["tenant-a"], usage!.Groups.Select(g => g.Key));
        Assert.Equal(20, usage.Totals.Calls);
        Assert.Equal(1, usage.Totals.Failures);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task ATenantValueIsDataNeverSql(string endpoint)
    {
        // Every query binds its values as parameters: a quote in the tenant matches no tenant, it does not widen the filter.
        using var client = api.Admin();
        var tenant = Uri.EscapeDataString("tenant-a' OR '1'='1");
        var answer = await client.GetStringAsync($"/api/v1/analytics/{endpoint}?{Range}&tenant={tenant}");
        Assert.DoesNotContain("a-", answer);
        Assert.DoesNotContain("b-", answer);
        Assert.Contains("a-", await client.GetStringAsync($"/api/v1/analytics/{endpoint}?{Range}&tenant=tenant-a"));
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task TheAdminSeesEveryTenantOrTheOneAskedFor(string endpoint)
    {
        using var client = api.Admin();
        var all = await client.GetStringAsync($"/api/v1/analytics/{endpoint}?{Range}");
        Assert.Contains("b-", all);
        Assert.Contains("a-", all);
        var onlyB = await client.GetStringAsync($"/api/v1/analytics/{endpoint}?{Range}&tenant=tenant-b");
        Assert.Contains("b-", onlyB);
        Assert.DoesNotContain("a-", onlyB);
    }

    private static void AssertOnlyTenantA(string body)
    {
        // tenant-a's own rows are there (agent, tool … or, grouped by tenant, the tenant itself).
        Assert.Matches("\"(a-|tenant-a)", body);
        Assert.DoesNotContain("b-", body);
        Assert.DoesNotContain("n-", body);
        Assert.DoesNotContain("tenant-b", body);
        Assert.DoesNotContain("EUR", body);
    }
}
