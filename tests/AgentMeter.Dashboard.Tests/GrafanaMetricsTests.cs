using System.Text.RegularExpressions;
using AgentMeter.Dashboard.Tests.Infrastructure;
using AgentMeter.Operator.Machinery;
using Prometheus;

namespace AgentMeter.Dashboard.Tests;

/// <summary>
/// The Grafana dashboard against what the running aggregator really exposes on /metrics; the operator's
/// metrics (agentmeter_operator_*) against the exposition of the operator's own metric registry.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed partial class GrafanaMetricsTests(DashboardFixture fixture)
{
    [Fact]
    public async Task EveryMetricTheDashboardQueriesIsExposedByTheAggregator()
    {
        using var http = new HttpClient();
        var exposition = await http.GetStringAsync(fixture.BaseUrl + "/metrics");
        var aggregatorFamilies = MetricFamily().Matches(exposition).ToDictionary(match => match.Groups["name"].Value, match => match.Groups["type"].Value);
        var operatorFamilies = MetricFamily().Matches(await OperatorExpositionAsync())
            .ToDictionary(match => match.Groups["name"].Value, match => match.Groups["type"].Value);

        var queried = GrafanaDashboardTests.PanelExpressions().Concat(GrafanaDashboardTests.VariableQueries())
            .SelectMany(query => GrafanaDashboardTests.MetricNames(query.Expr)).Distinct().ToList();
        Assert.NotEmpty(queried);
        foreach (var name in queried)
        {
            var families = name.StartsWith("agentmeter_operator_", StringComparison.Ordinal) ? operatorFamilies : aggregatorFamilies;
            var histogram = HistogramSeries().Match(name);
            if (histogram.Success)
            {
                Assert.True(families.GetValueOrDefault(histogram.Groups["family"].Value) == "histogram", $"{name}: no such histogram on /metrics");
            }
            else
            {
                Assert.True(families.ContainsKey(name), $"{name} is not on the /metrics it is queried from");
            }
        }
    }

    /// <summary>What the operator's /metrics serves, from the registry it serves it from.</summary>
    private static async Task<string> OperatorExpositionAsync()
    {
        var metrics = new OperatorMetrics();
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [GeneratedRegex(@"^# TYPE (?<name>\S+) (?<type>\S+)$", RegexOptions.Multiline)]
    private static partial Regex MetricFamily();

    [GeneratedRegex("^(?<family>.+)_(bucket|sum|count)$")]
    private static partial Regex HistogramSeries();
}
