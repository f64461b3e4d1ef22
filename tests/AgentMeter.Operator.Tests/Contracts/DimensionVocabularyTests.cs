using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Operator.Tests.Contracts;

/// <summary>
/// Every list of dimensions and webhook formats is derived from <see cref="Dimension.All"/> and
/// <see cref="WebhookFormats.All"/>: the CRD, the validation, the filter fields and the PromQL labels agree with them.
/// </summary>
public class DimensionVocabularyTests
{
    public static readonly TheoryData<string> Dimensions = new(Dimension.All.Select(d => d.Name));

    private static JsonObject UsageAlertSpecSchema()
    {
        var crd = YamlJson.ReadDocuments(File.ReadAllText(Path.Combine(RepoPaths.Crds, "agentmeter.io_usagealerts.yaml"))).Single();
        return crd["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!["properties"]!.AsObject();
    }

    private static UsageAlertSpec Spec(string metric, string? groupBy = null, string? filterField = null, string filterValue = "v")
    {
        var filter = filterField is null ? "" : $",\"filter\":{{\"{filterField}\":\"{filterValue}\"}}";
        var group = groupBy is null ? "" : $",\"groupBy\":\"{groupBy}\"";
        var json = """{"apiVersion":"agentmeter.io/v1alpha1","kind":"UsageAlert","metadata":{"name":"a","namespace":"n"},"spec":{"metric":"""
                   + $"\"{metric}\",\"threshold\":\"1\",\"window\":\"1h\"{group}{filter}}}}}";
        return JsonSerializer.Deserialize(json, EntityJson.Info<UsageAlert>())!.Spec;
    }

    [Fact]
    public void TheCrdListsTheDimensionsAndFormats()
    {
        var spec = UsageAlertSpecSchema();
        Assert.Equal(Dimension.All.Select(d => d.Name), spec["groupBy"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(Dimension.All.Select(d => d.FilterField).Order(), spec["filter"]!["properties"]!.AsObject().Select(p => p.Key).Order());
        Assert.Equal(WebhookFormats.All, spec["webhooks"]!["items"]!["properties"]!["format"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Theory]
    [MemberData(nameof(Dimensions))]
    public void EachFilterFieldIsReadByItsDimensionOnly(string name)
    {
        var dimension = Dimension.Find(name)!;
        var filter = Spec(AlertMetrics.CallCount, filterField: dimension.FilterField).Filter!;
        Assert.Equal("v", dimension.FilterValue(filter));
        Assert.All(Dimension.All.Where(d => d != dimension), d => Assert.Null(d.FilterValue(filter)));
        Assert.Same(dimension, Dimension.All[dimension.Index]);
    }

    [Theory]
    [MemberData(nameof(Dimensions))]
    public void ValidationAcceptsEachDimensionAndChecksItsFilter(string name)
    {
        var dimension = Dimension.Find(name)!;
        var alert = new UsageAlert { Metadata = new() { Name = "a" }, Spec = Spec(AlertMetrics.CallCount, groupBy: name) };
        Assert.DoesNotContain(UsageAlertValidator.Validate(alert), p => p.Field == "spec.groupBy");
        alert.Spec = Spec(AlertMetrics.CallCount, filterField: dimension.FilterField, filterValue: "a{b}");
        Assert.Contains(UsageAlertValidator.Validate(alert), p => p.Field == $"spec.filter.{dimension.FilterField}");
    }

    [Fact]
    public void ValidationRefusesAnUnknownGroupByNamingTheDimensions()
    {
        var alert = new UsageAlert { Metadata = new() { Name = "a" }, Spec = Spec(AlertMetrics.CallCount, groupBy: "team") };
        var problem = Assert.Single(UsageAlertValidator.Validate(alert), p => p.Field == "spec.groupBy");
        Assert.Contains(string.Join(", ", Dimension.All.Select(d => d.Name)), problem.Problem);
    }

    /// <summary>A dimension with a metric label filters and groups the PromQL of a metric that carries it; one without makes the alert aggregator-only.</summary>
    [Theory]
    [MemberData(nameof(Dimensions))]
    public void EachDimensionMapsToItsMetricLabel(string name)
    {
        var dimension = Dimension.Find(name)!;
        string[] metrics = [AlertMetrics.Tokens, AlertMetrics.CallCount, AlertMetrics.ErrorRate, AlertMetrics.P95LatencyMs, AlertMetrics.CircuitBreakerOpen];
        var filtered = metrics.Select(m => AlertExpressions.For(Spec(m, filterField: dimension.FilterField))).ToList();
        var grouped = metrics.Select(m => AlertExpressions.For(Spec(m, groupBy: name))).ToList();
        if (dimension.MetricLabel is null)
        {
            Assert.All(filtered, e => Assert.Equal("FilterNotInPrometheus", e.Reason));
            Assert.All(grouped, e => Assert.Equal("GroupByNotInPrometheus", e.Reason));
            return;
        }
        Assert.Contains(filtered, e => e.Expr?.Contains($"{dimension.MetricLabel}=\"v\"") == true);
        Assert.All(filtered.Where(e => e.Expr is not null), e => Assert.Contains($"{dimension.MetricLabel}=\"v\"", e.Expr));
        Assert.Contains(grouped, e => e.GroupLabels.SequenceEqual([dimension.MetricLabel]));
    }

    [Fact]
    public void DefaultFormatIsGeneric() => Assert.Equal(WebhookFormats.Generic, new AlertWebhook().Format);
}
