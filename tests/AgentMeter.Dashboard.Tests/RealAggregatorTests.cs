using System.Net;
using AgentMeter.Dashboard.Tests.Infrastructure;

namespace AgentMeter.Dashboard.Tests;

/// <summary>The dashboard as the shipped binary serves it: composed into the aggregator, tokens configured.</summary>
public sealed class RealAggregatorTests
{
    [Fact]
    public async Task TheAggregatorServesTheDashboardWithoutATokenWhenTokensAreConfigured()
    {
        await using var aggregator = await AggregatorProcess.StartAsync("serve", [],
            new Dictionary<string, string> { ["Auth__AdminToken"] = "dashboard-test-admin" });
        using var http = new HttpClient();

        using var index = await http.GetAsync(aggregator.BaseUrl + "/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        var html = await index.Content.ReadAsStringAsync();
        Assert.Contains("<title>AgentMeter</title>", html);
        var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"(assets/app-[^\"]+\\.js)\"").Groups[1].Value;
        using var asset = await http.GetAsync($"{aggregator.BaseUrl}/{script}");
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
    }
}
