using System.Text.RegularExpressions;
using AgentMeter.Dashboard.Tests.Infrastructure;

namespace AgentMeter.Dashboard.Tests;

/// <summary>The Grafana dashboard against what the running aggregator really exposes on /metrics.</summary>
[Collection(DashboardCollection.Name)]
public sealed partial class GrafanaMetricsTests(DashboardFixture fixture)
{
    [Fact]
    public async Task EveryMetricTheDashboardQueriesIsExposedByTheAggregator()
    {
        using var http = new HttpClient();
        var exposition = await http.GetStringAsync(fixture.BaseUrl + "/metrics");
        var families = MetricFamily().Matches(exposition).ToDictionary(match => match.Groups["name"].Value, match => match.Groups["type"].Value);

        var queried = GrafanaDashboardTests.PanelExpressions().Concat(GrafanaDashboardTests.VariableQueries())
            .SelectMany(query => GrafanaDashboardTests.MetricNames(query.Expr)).Distinct().ToList();
        Assert.NotEmpty(queried);
        foreach (var name in queried)
        {
            var histogram = HistogramSeries().Match(name);
            if (histogram.Success)
            {
                Assert.True(families.GetValueOrDefault(histogram.Groups["family"].Value) == "histogram", $"{name}: no such histogram on /metrics");
            }
            else
            {
                Assert.True(families.ContainsKey(name), $"{name} is not on the aggregator's /metrics");
            }
        }
    }

    [GeneratedRegex(@"^# TYPE (?<name>\S+) (?<type>\S+)$", RegexOptions.Multiline)]
    private static partial Regex MetricFamily();

    [GeneratedRegex("^(?<family>.+)_(bucket|sum|count)$")]
    private static partial Regex HistogramSeries();
}
