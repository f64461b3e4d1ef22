using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Tests.Analytics;

namespace AgentMeter.Aggregator.Tests.Reports;

/// <summary>
/// <c>GET /api/v1/reports/focus</c> against a real PostgreSQL: the FOCUS columns, one row per day ×
/// tenant × agent × model (and the tool, server and user of its Tags), sums equal to the costs API to
/// the cent, unpriced usage listed without a cost, rolled-up months, tenant isolation, bad parameters.
/// </summary>
public class FocusExportTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>, IAsyncLifetime
{
    public Task InitializeAsync() => ReportSeed.SeedAsync(api.Db);
    public Task DisposeAsync() => Task.CompletedTask;

    private static readonly string[] Columns =
    [
        "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BilledCost", "EffectiveCost",
        "ListCost", "BillingCurrency", "ListUnitPrice", "PricingQuantity", "PricingUnit", "ConsumedQuantity", "ConsumedUnit",
        "ServiceCategory", "ServiceName", "SubAccountId", "ResourceId", "Tags", "x_Priced", "x_Calls", "x_InputTokens", "x_OutputTokens",
        "x_Granularity",
    ];

    private async Task<Csv> FocusAsync(string month, string token = AnalyticsHost.AdminToken, string query = "")
    {
        using var client = api.Client(token);
        using var response = await client.GetAsync($"/api/v1/reports/focus?month={month}{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains($"agentmeter-focus-{month}", response.Content.Headers.ContentDisposition!.FileName);
        return Csv.Parse(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheColumnsAreFocusNamedAndFormatted()
    {
        var csv = await FocusAsync("2026-10");
        Assert.Equal(Columns, csv.Header);
        var row = csv.Rows.Single(r => r["SubAccountId"] == "tenant-b");
        Assert.Equal("2026-10-01T00:00:00Z", row["BillingPeriodStart"]);
        Assert.Equal("2026-11-01T00:00:00Z", row["BillingPeriodEnd"]);
        Assert.Equal("2026-10-05T00:00:00Z", row["ChargePeriodStart"]);
        Assert.Equal("2026-10-06T00:00:00Z", row["ChargePeriodEnd"]);
        Assert.Equal("Usage", row["ChargeCategory"]);
        Assert.Equal("7.7700000003", row["BilledCost"]);
        Assert.Equal(row["BilledCost"], row["EffectiveCost"]);
        Assert.Equal(row["BilledCost"], row["ListCost"]);
        Assert.Equal("EUR", row["BillingCurrency"]);
        Assert.Equal("1500", row["PricingQuantity"]);
        Assert.Equal("1500", row["ConsumedQuantity"]);
        Assert.Equal("Tokens", row["PricingUnit"]);
        // The blended price per token: times the quantity, the cost (to the digits kept).
        Assert.Equal(7.7700000003m, Math.Round(decimal.Parse(row["ListUnitPrice"], CultureInfo.InvariantCulture) * 1500, 10));
        Assert.Equal("b-model", row["ServiceName"]);
        Assert.Equal("b-agent", row["ResourceId"]);
        var tags = JsonNode.Parse(row["Tags"])!.AsObject();
        Assert.Equal(["model=b-model", "server=b-server", "tool=b-tool", "user=b-user"],
            tags.Select(t => $"{t.Key}={(string)t.Value!}").Order(StringComparer.Ordinal));
        Assert.Equal(("true", "10", "1000", "500", "daily"), (row["x_Priced"], row["x_Calls"], row["x_InputTokens"], row["x_OutputTokens"], row["x_Granularity"]));
    }

    [Fact]
    public async Task OneRowPerDayTenantAgentModelWithCorrectionsSummedIn()
    {
        var csv = await FocusAsync("2026-10");
        var keys = csv.Rows.Select(r => (r["ChargePeriodStart"], r["SubAccountId"], r["ResourceId"], r["Tags"], r["BillingCurrency"])).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
        // 6 stored rows of revision 0 on two days, one correction of revision 1: six export rows.
        Assert.Equal(6, csv.Rows.Count);
        var corrected = csv.Rows.Single(r => r["ChargePeriodStart"] == "2026-10-05T00:00:00Z" && r["Tags"].Contains("\"a-user\"") &&
                                             r["Tags"].Contains("\"a-model\""));
        Assert.Equal(("13", "0.1234567898"), (corrected["x_Calls"], corrected["BilledCost"]));
        // Deterministic order: by day, then tenant, agent, model … in byte order.
        Assert.Equal(["", "tenant-a", "tenant-a", "tenant-a", "tenant-b", "tenant-a"], csv.Rows.Select(r => r["SubAccountId"]));
        Assert.Equal(csv.Rows.Select(r => r["ChargePeriodStart"]).Order(StringComparer.Ordinal), csv.Rows.Select(r => r["ChargePeriodStart"]));
    }

    [Theory]
    [InlineData("2026-10")]
    [InlineData("2026-09")]
    [InlineData("2026-08")]
    public async Task SumsEqualTheCostsApiToTheCent(string month)
    {
        using var admin = api.Admin();
        var costs = await ReportSeed.CostsAsync(admin, month);
        var csv = await FocusAsync(month);
        var focusTotals = csv.Rows.Where(r => r["x_Priced"] == "true").GroupBy(r => r["BillingCurrency"])
            .ToDictionary(g => g.Key, g => g.Sum(r => decimal.Parse(r["BilledCost"], CultureInfo.InvariantCulture)));
        Assert.Equal(ReportSeed.Totals(costs).OrderBy(kv => kv.Key), focusTotals.OrderBy(kv => kv.Key));
        Assert.NotEmpty(focusTotals);
        // Per tenant too, and the unpriced calls.
        var perTenant = csv.Rows.Where(r => r["x_Priced"] == "true").GroupBy(r => (r["BillingCurrency"], r["SubAccountId"]))
            .ToDictionary(g => g.Key, g => g.Sum(r => decimal.Parse(r["BilledCost"], CultureInfo.InvariantCulture)));
        Assert.Equal(ReportSeed.Groups(costs).OrderBy(kv => kv.Key), perTenant.OrderBy(kv => kv.Key));
        Assert.Equal((long)costs["unpriced"]!["calls"]!, csv.Rows.Where(r => r["x_Priced"] == "false").Sum(r => long.Parse(r["x_Calls"])));
    }

    [Fact]
    public async Task UnpricedUsageIsListedWithoutACostNeverAZero()
    {
        var csv = await FocusAsync("2026-10");
        var unpriced = csv.Rows.Single(r => r["x_Priced"] == "false");
        Assert.Equal(("", "", "", "", ""), (unpriced["BilledCost"], unpriced["EffectiveCost"], unpriced["ListCost"], unpriced["BillingCurrency"], unpriced["ListUnitPrice"]));
        Assert.Equal(("4", "a-unpriced", "tenant-a"), (unpriced["x_Calls"], unpriced["ServiceName"], unpriced["SubAccountId"]));
        Assert.DoesNotContain(csv.Rows, r => r["BilledCost"] == "0");
    }

    [Fact]
    public async Task RolledUpMonthsAnswerFromTheMonthlyRowsWithTheirChargePeriod()
    {
        var august = await FocusAsync("2026-08");
        Assert.Equal(3, august.Rows.Count);
        Assert.All(august.Rows, r => Assert.Equal(("2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z", "monthly"),
            (r["ChargePeriodStart"], r["ChargePeriodEnd"], r["x_Granularity"])));
        Assert.Equal("", august.Rows.Single(r => r["SubAccountId"] == "")["BilledCost"]);

        // September: days 1–14 rolled up (their charge period), 15–30 still daily.
        var september = await FocusAsync("2026-09");
        Assert.Equal(
            ["2026-09-01T00:00:00Z..2026-09-15T00:00:00Z monthly", "2026-09-01T00:00:00Z..2026-09-15T00:00:00Z monthly",
             "2026-09-15T00:00:00Z..2026-09-16T00:00:00Z daily", "2026-09-20T00:00:00Z..2026-09-21T00:00:00Z daily"],
            september.Rows.Select(r => $"{r["ChargePeriodStart"]}..{r["ChargePeriodEnd"]} {r["x_Granularity"]}"));
    }

    [Fact]
    public async Task ATenantTokenGetsOnlyItsRowsAndAnotherTenantIsForbidden()
    {
        foreach (var month in new[] { "2026-10", "2026-09", "2026-08" })
        {
            var mine = await FocusAsync(month, AnalyticsHost.TenantAToken);
            Assert.NotEmpty(mine.Rows);
            Assert.All(mine.Rows, r => Assert.Equal("tenant-a", r["SubAccountId"]));
            Assert.All(mine.Rows, r => Assert.DoesNotContain("b-", string.Join(",", r.Values)));
            Assert.All(mine.Rows, r => Assert.DoesNotContain("n-", string.Join(",", r.Values)));
            Assert.Equal(mine.Rows.Count, (await FocusAsync(month, AnalyticsHost.TenantAToken, "&tenant=tenant-a")).Rows.Count);
            // The tenant's sums are the costs API's for the same token.
            using var client = api.Client(AnalyticsHost.TenantAToken);
            var costs = await ReportSeed.CostsAsync(client, month);
            Assert.Equal(ReportSeed.Totals(costs).Values.Sum(),
                mine.Rows.Where(r => r["x_Priced"] == "true").Sum(r => decimal.Parse(r["BilledCost"], CultureInfo.InvariantCulture)));
        }

        using var tenantA = api.Client(AnalyticsHost.TenantAToken);
        var forbidden = await tenantA.GetAsync("/api/v1/reports/focus?month=2026-10&tenant=tenant-b");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("tenant", (await forbidden.Content.ReadFromJsonAsync<ParameterError>())!.Parameter);

        using var stranger = api.Client("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("/api/v1/reports/focus?month=2026-10")).StatusCode);

        var onlyB = await FocusAsync("2026-10", query: "&tenant=tenant-b");
        Assert.Equal(["tenant-b"], onlyB.Rows.Select(r => r["SubAccountId"]).Distinct());
    }

    [Fact]
    public async Task ATenantValueIsDataNeverSql()
    {
        var injected = await FocusAsync("2026-10", query: "&tenant=" + Uri.EscapeDataString("tenant-a' OR '1'='1"));
        Assert.Equal(Columns, injected.Header);
        Assert.Empty(injected.Rows);
    }

    [Theory]
    [InlineData("", "month")]
    [InlineData("month=2026-13", "month")]
    [InlineData("month=2026-1", "month")]
    [InlineData("month=october", "month")]
    [InlineData("month=2099-01", "month")]
    [InlineData("month=2026-10&month=2026-09", "month")]
    [InlineData("month=2026-10&tenant=", "tenant")]
    [InlineData("month=2026-10&group_by=agent", "group_by")]
    public async Task BadParametersAreA400NamingTheParameter(string query, string parameter)
    {
        using var client = api.Admin();
        var response = await client.GetAsync($"/api/v1/reports/focus?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<ParameterError>())!;
        Assert.Equal(parameter, error.Parameter);
        Assert.StartsWith(parameter + ":", error.Error);
    }
}
