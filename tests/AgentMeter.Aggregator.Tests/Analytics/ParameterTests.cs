using System.Net;
using System.Net.Http.Json;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Entities.Domain;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace AgentMeter.Aggregator.Tests.Analytics;

public class ParameterParsingTests
{
    private static readonly DateOnly Today = new(2026, 11, 29);

    private static (AnalyticsRequest?, ParameterError?) Parse(string query, IReadOnlyList<string>? accepted = null) =>
        AnalyticsParameters.Parse(new QueryCollection(QueryHelpers.ParseQuery(query)), accepted ?? AnalyticsParameters.Grouped, Today);

    [Fact]
    public void DefaultsToTheLastSevenDaysGroupedByAgent()
    {
        var (r, e) = Parse("");
        Assert.Null(e);
        Assert.Equal(new AnalyticsRequest(new DateOnly(2026, 11, 23), Today, null, Dimension.Default, 100), r);
    }

    [Fact]
    public void PeriodCountsBackFromTodayInclusive()
    {
        var (r, _) = Parse("?period=30d&group_by=tenant&limit=5&tenant=t1");
        Assert.Equal(new AnalyticsRequest(new DateOnly(2026, 10, 31), Today, "t1", Dimension.Find("tenant")!, 5), r);
    }

    [Fact]
    public void FromAloneRunsToToday()
    {
        var (r, _) = Parse("?from=2026-11-01");
        Assert.Equal((new DateOnly(2026, 11, 1), Today), (r!.From, r.To));
    }

    [Theory]
    [InlineData("?period=7", "period", "accepts <N>d")]
    [InlineData("?period=0d", "period", "1 ≤ N ≤ 3660")]
    [InlineData("?period=3661d", "period", "1 ≤ N ≤ 3660")]
    [InlineData("?period=-3d", "period", "<N>d")]
    [InlineData("?period=7d&from=2026-11-01", "period", "either period")]
    [InlineData("?period=7d&period=30d", "period", "given 2 times")]
    [InlineData("?from=2026-13-01", "from", "YYYY-MM-DD")]
    [InlineData("?from=yesterday", "from", "YYYY-MM-DD")]
    [InlineData("?to=2026-11-01", "from", "missing while to is given")]
    [InlineData("?from=2026-11-01&to=2026-11-31", "to", "YYYY-MM-DD")]
    [InlineData("?from=2026-11-02&to=2026-11-01", "to", "before from")]
    [InlineData("?from=2000-01-01&to=2026-11-01", "to", "longer than 3660 days")]
    [InlineData("?tenant=", "tenant", "a tenant id")]
    [InlineData("?group_by=team", "group_by", "agent | tenant | user | tool | server | model")]
    [InlineData("?group_by=Agent", "group_by", "agent | tenant")]
    [InlineData("?limit=0", "limit", "1 to 1000")]
    [InlineData("?limit=1001", "limit", "1 to 1000")]
    [InlineData("?limit=ten", "limit", "1 to 1000")]
    [InlineData("?limit=+5", "limit", "1 to 1000")]
    [InlineData("?perid=7d", "perid", "period, from, to, tenant, group_by, limit")]
    public void EveryBadParameterIsNamedWithWhatItAccepts(string query, string parameter, string says)
    {
        var (r, e) = Parse(query);
        Assert.Null(r);
        Assert.Equal(parameter, e!.Parameter);
        Assert.StartsWith($"{parameter}: ", e.Error);
        Assert.Contains("; accepts ", e.Error);
        Assert.Contains(says, e.Error);
    }

    [Fact]
    public void EndpointsThatDoNotGroupRejectGroupingParameters()
    {
        var (_, e) = Parse("?group_by=agent", AnalyticsParameters.Common);
        Assert.Equal("group_by", e!.Parameter);
        Assert.Equal("group_by: is not a parameter of this endpoint; accepts period, from, to, tenant", e.Error);
    }
}

/// <summary>The same 400s through HTTP, on every endpoint.</summary>
public class ParameterHttpTests(AnalyticsHost api) : IClassFixture<AnalyticsHost>
{
    public static TheoryData<string, string, string> BadRequests()
    {
        var data = new TheoryData<string, string, string>();
        string[] common = ["usage", "costs", "heatmap", "errors", "health"];
        (string Query, string Parameter)[] everywhere =
        [
            ("period=abc", "period"), ("period=0d", "period"), ("period=7d&to=2026-11-01", "period"), ("period=1d&period=2d", "period"),
            ("from=2026-02-30", "from"), ("to=2026-11-01", "from"), ("from=2026-11-02&to=2026-11-01", "to"), ("from=2026-11-01&to=x", "to"),
            ("tenant=", "tenant"), ("bogus=1", "bogus"),
        ];
        foreach (var endpoint in common)
            foreach (var (query, parameter) in everywhere)
                data.Add(endpoint, query, parameter);
        foreach (var endpoint in new[] { "usage", "costs" })
            foreach (var (query, parameter) in new[] { ("group_by=agents", "group_by"), ("limit=0", "limit"), ("limit=5000", "limit"), ("limit=1.5", "limit") })
                data.Add(endpoint, query, parameter);
        foreach (var endpoint in new[] { "heatmap", "errors", "health" })
            foreach (var (query, parameter) in new[] { ("group_by=agent", "group_by"), ("limit=10", "limit") })
                data.Add(endpoint, query, parameter);
        return data;
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task EveryEndpointAnswers400NamingTheParameter(string endpoint, string query, string parameter)
    {
        using var client = api.Admin();
        var response = await client.GetAsync($"/api/v1/analytics/{endpoint}?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<ParameterError>();
        Assert.Equal(parameter, body!.Parameter);
        Assert.Matches($"^{parameter}: .+; accepts .+", body.Error);
    }
}
