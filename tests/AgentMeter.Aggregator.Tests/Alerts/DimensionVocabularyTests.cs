using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Metrics;
using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace AgentMeter.Aggregator.Tests.Alerts;

/// <summary>The aggregator's lists of dimensions are <see cref="Dimension.All"/>: analytics, alert rows and filters, metric labels.</summary>
public class DimensionVocabularyTests
{
    public static readonly TheoryData<string> Dimensions = new(Dimension.All.Select(d => d.Name));

    private static UsageDimensions Row() => new(Dimension.All.Select(d => $"{d.Name}-value").ToArray());

    [Theory]
    [MemberData(nameof(Dimensions))]
    public void AnalyticsGroupsByEachDimension(string name)
    {
        var (request, error) = AnalyticsParameters.Parse(new QueryCollection(QueryHelpers.ParseQuery($"?group_by={name}")),
            AnalyticsParameters.Grouped, new DateOnly(2026, 11, 29));
        Assert.Null(error);
        Assert.Same(Dimension.Find(name), request!.GroupBy);
    }

    [Theory]
    [MemberData(nameof(Dimensions))]
    public void AlertRowsGroupAndFilterByEachDimension(string name)
    {
        var dimension = Dimension.Find(name)!;
        var row = Row();
        Assert.Equal($"{name}-value", row.Of(dimension));
        var filter = new AlertFilter();
        Assert.True(row.Matches(filter));
        // Set the filter field through its JSON name, as a UsageAlert would.
        var matching = JsonSerializer.Deserialize(
            $"{{\"{dimension.FilterField}\":\"{name}-value\"}}", EntityJson.Info<AlertFilter>())!;
        var other = JsonSerializer.Deserialize(
            $"{{\"{dimension.FilterField}\":\"something-else\"}}", EntityJson.Info<AlertFilter>())!;
        Assert.True(row.Matches(matching));
        Assert.False(row.Matches(other));
    }

    [Fact]
    public void AlertRowsWithTheSameValuesAreOneGroup()
    {
        Assert.Equal(Row(), Row());
        Assert.Equal(Row().GetHashCode(), Row().GetHashCode());
        Assert.NotEqual(Row(), new UsageDimensions(Dimension.All.Select(d => d.Name == "model" ? "other" : $"{d.Name}-value").ToArray()));
    }

    /// <summary>A dimension's metric label is a label of a domain metric on <c>/metrics</c> (the PromQL of the generated rules uses it).</summary>
    [Fact]
    public async Task EachMetricLabelIsExposed()
    {
        var metrics = new RegistryMetrics(new MetricsOptions());
        metrics.Tools.Get("search", "github").Count(failed: false);
        metrics.Usage.Get("gpt-4o", "agent-1").AddTokens(10);
        metrics.CircuitBreaker("github", "open");
        using var text = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(text);
        var exposition = Encoding.UTF8.GetString(text.ToArray());
        foreach (var dimension in Dimension.All.Where(d => d.MetricLabel is not null))
            Assert.Contains($"{dimension.MetricLabel}=\"", exposition);
    }
}
