using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Tests.Analytics;

namespace AgentMeter.Aggregator.Tests.Reports;

/// <summary>
/// <c>GET /api/v1/reports/chargeback</c>: for every group_by, as JSON and as CSV, each group's cost
/// per currency and each currency's total equal the costs API's for the month; unpriced usage is
/// its own row without a cost; a tenant token sees its own groups only.
/// </summary>
public class ChargebackReportTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>, IAsyncLifetime
{
    public Task InitializeAsync() => ReportSeed.SeedAsync(api.Db);
    public Task DisposeAsync() => Task.CompletedTask;

    public static readonly TheoryData<string, string> Cases = Every();

    private static TheoryData<string, string> Every()
    {
        var cases = new TheoryData<string, string>();
        foreach (var groupBy in new[] { "tenant", "agent", "user", "model" })
            foreach (var month in new[] { "2026-10", "2026-09", "2026-08" })
                cases.Add(groupBy, month);
        return cases;
    }

    private static async Task<JsonNode> JsonAsync(HttpClient client, string month, string groupBy, string query = "") =>
        JsonNode.Parse(await client.GetStringAsync($"/api/v1/reports/chargeback?month={month}&group_by={groupBy}&format=json{query}"))!;

    private static async Task<Csv> CsvAsync(HttpClient client, string month, string groupBy)
    {
        using var response = await client.GetAsync($"/api/v1/reports/chargeback?month={month}&group_by={groupBy}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        return Csv.Parse(await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task JsonSumsEqualTheCostsApi(string groupBy, string month)
    {
        using var admin = api.Admin();
        var costs = await ReportSeed.CostsAsync(admin, month, groupBy);
        var report = await JsonAsync(admin, month, groupBy);
        Assert.Equal((month, groupBy), ((string)report["month"]!, (string)report["groupBy"]!));
        var rows = report["rows"]!.AsArray();
        var priced = rows.Where(r => (bool)r!["priced"]!).ToDictionary(r => ((string)r!["currency"]!, (string)r["key"]!), r => (decimal)r!["cost"]!);
        Assert.NotEmpty(priced);
        Assert.Equal(ReportSeed.Groups(costs).OrderBy(kv => kv.Key), priced.OrderBy(kv => kv.Key));
        Assert.Equal(ReportSeed.Totals(costs).OrderBy(kv => kv.Key),
            report["totals"]!.AsArray().ToDictionary(t => (string)t!["currency"]!, t => (decimal)t!["cost"]!).OrderBy(kv => kv.Key));
        Assert.Equal((long)costs["unpriced"]!["calls"]!, rows.Where(r => !(bool)r!["priced"]!).Sum(r => (long)r!["calls"]!));
        Assert.Equal(costs["granularity"]!.ToJsonString(), report["granularity"]!.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task CsvHoldsTheSameRowsAsJson(string groupBy, string month)
    {
        using var admin = api.Admin();
        var json = (await JsonAsync(admin, month, groupBy))["rows"]!.AsArray();
        var csv = await CsvAsync(admin, month, groupBy);
        Assert.Equal(["month", groupBy, "currency", "cost", "priced", "calls", "input_tokens", "output_tokens"], csv.Header);
        Assert.Equal(
            json.Select(r => $"{r!["key"]}|{r["currency"]}|{(decimal?)r["cost"]}|{(bool)r["priced"]!}|{r["calls"]}|{r["inputTokens"]}|{r["outputTokens"]}"),
            csv.Rows.Select(r => $"{r[groupBy]}|{r["currency"]}|{(r["cost"] == "" ? null : decimal.Parse(r["cost"], CultureInfo.InvariantCulture))}|" +
                                 $"{bool.Parse(r["priced"])}|{r["calls"]}|{r["input_tokens"]}|{r["output_tokens"]}"));
        Assert.All(csv.Rows, r => Assert.Equal(month, r["month"]));
    }

    [Fact]
    public async Task UnpricedUsageIsItsOwnRowWithoutACost()
    {
        using var admin = api.Admin();
        var rows = (await JsonAsync(admin, "2026-10", "model"))["rows"]!.AsArray();
        var unpriced = rows.Single(r => !(bool)r!["priced"]!)!;
        Assert.Equal("a-unpriced", (string)unpriced["key"]!);
        Assert.Null(unpriced["cost"]);
        Assert.Null(unpriced["currency"]);
        Assert.Equal(4, (long)unpriced["calls"]!);
    }

    [Theory]
    [InlineData("tenant")]
    [InlineData("agent")]
    [InlineData("user")]
    [InlineData("model")]
    public async Task ATenantTokenSeesOnlyItsOwnGroups(string groupBy)
    {
        using var tenantA = api.Client(AnalyticsHost.TenantAToken);
        foreach (var month in new[] { "2026-10", "2026-09", "2026-08" })
        {
            var body = await tenantA.GetStringAsync($"/api/v1/reports/chargeback?month={month}&group_by={groupBy}&format=json");
            Assert.Matches("\"(a-|tenant-a)", body);
            Assert.DoesNotContain("b-", body);
            Assert.DoesNotContain("n-", body);
            Assert.DoesNotContain("EUR", body);
            var csv = await tenantA.GetStringAsync($"/api/v1/reports/chargeback?month={month}&group_by={groupBy}");
            Assert.DoesNotContain("b-", csv);
            Assert.DoesNotContain("EUR", csv);
        }
        var forbidden = await tenantA.GetAsync($"/api/v1/reports/chargeback?month=2026-10&group_by={groupBy}&tenant=tenant-b");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("tenant", (await forbidden.Content.ReadFromJsonAsync<ParameterError>())!.Parameter);
    }

    [Theory]
    [InlineData("month=2026-10&group_by=server", "group_by")]
    [InlineData("month=2026-10&group_by=", "group_by")]
    [InlineData("month=2026-10&format=xml", "format")]
    [InlineData("month=2026/10", "month")]
    [InlineData("month=2026-10&limit=5", "limit")]
    public async Task BadParametersAreA400NamingTheParameter(string query, string parameter)
    {
        using var client = api.Admin();
        var response = await client.GetAsync($"/api/v1/reports/chargeback?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(parameter, (await response.Content.ReadFromJsonAsync<ParameterError>())!.Parameter);
    }
}
