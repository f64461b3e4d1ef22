using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Operator.Rendering;

/// <summary>A PromQL alert expression, or why Prometheus cannot evaluate this alert (the aggregator still does).</summary>
public sealed record AlertExpression(string? Expr, string? Reason, string? Message, IReadOnlyList<string> GroupLabels)
{
    public static AlertExpression NotExpressible(string reason, string message) => new(null, reason, message, []);
}

/// <summary>
/// PromQL over the aggregator's metric names (docs/contracts.md) for each UsageAlert metric Prometheus can evaluate.
/// Filters and groupBy map onto metric labels; a filter on a dimension a metric does not carry makes the alert
/// aggregator-only, because a rule that silently ignored the filter would fire for the wrong traffic.
/// </summary>
public static class AlertExpressions
{
    /// <summary>The metric an alert metric reads, and the dimensions it carries as labels (<see cref="Dimension.MetricLabel"/>).</summary>
    private sealed record Source(string Metric, IReadOnlyList<Dimension> Carries)
    {
        public string? LabelOfFilter(string field) => Carries.FirstOrDefault(d => d.FilterField == field)?.MetricLabel;
        public string? LabelOfGroup(string name) => Carries.FirstOrDefault(d => d.Name == name)?.MetricLabel;
    }

    private static readonly IReadOnlyList<Dimension> ToolDimensions = [Dimension.Tool, Dimension.Server];

    private static readonly IReadOnlyDictionary<string, Source> Sources = new Dictionary<string, Source>
    {
        [AlertMetrics.Tokens] = new("registry_estimated_token_usage_total", [Dimension.Model, Dimension.Agent]),
        [AlertMetrics.CallCount] = new("registry_tool_calls_total", ToolDimensions),
        [AlertMetrics.ErrorRate] = new("registry_tool_calls_total", ToolDimensions),
        [AlertMetrics.P95LatencyMs] = new("registry_tool_call_duration_seconds_bucket", ToolDimensions),
        [AlertMetrics.CircuitBreakerOpen] = new("registry_circuit_breaker_state", [Dimension.Server]),
        [AlertMetrics.WebhookFailureRate] = new("registry_webhook_deliveries_total", []),
    };

    public static AlertExpression For(UsageAlertSpec spec)
    {
        if (!Sources.TryGetValue(spec.Metric, out var source))
            return AlertExpression.NotExpressible("MetricNotInPrometheus",
                $"{spec.Metric} is not exported to Prometheus; the aggregator evaluates this alert");
        var selectors = new List<string>();
        foreach (var (field, value) in Filters(spec.Filter))
        {
            if (source.LabelOfFilter(field) is not { } label)
                return AlertExpression.NotExpressible("FilterNotInPrometheus",
                    $"filter.{field} is not a label of {source.Metric}; the aggregator evaluates this alert");
            selectors.Add($"{label}=\"{Escape(value)}\"");
        }
        string[] groupLabels = [];
        if (spec.GroupBy is { } groupBy)
        {
            if (source.LabelOfGroup(groupBy) is not { } label)
                return AlertExpression.NotExpressible("GroupByNotInPrometheus",
                    $"groupBy {groupBy} is not a label of {source.Metric}; the aggregator evaluates this alert");
            groupLabels = [label];
        }
        var by = groupLabels.Length == 0 ? "" : $" by ({string.Join(", ", groupLabels)})";
        var w = spec.Window;
        var t = spec.Threshold?.Text ?? "0";
        string Sel(params string[] extra) => "{" + string.Join(",", selectors.Concat(extra)) + "}";
        var expr = spec.Metric switch
        {
            AlertMetrics.Tokens or AlertMetrics.CallCount =>
                $"sum{by} (increase({source.Metric}{Sel()}[{w}])) > {t}",
            AlertMetrics.ErrorRate or AlertMetrics.WebhookFailureRate =>
                $"(sum{by} (increase({source.Metric}{Sel("status=\"failure\"")}[{w}])) / sum{by} (increase({source.Metric}{Sel()}[{w}]))) > {t}",
            AlertMetrics.P95LatencyMs =>
                $"histogram_quantile(0.95, sum by ({string.Join(", ", groupLabels.Prepend("le"))}) (rate({source.Metric}{Sel()}[{w}]))) * 1000 > {t}",
            // Breakers open at any point of the window (state 1 = open), counted per group.
            _ => $"count{by} (max_over_time(({source.Metric}{Sel()} == bool 1)[{w}:1m]) == 1) > {t}",
        };
        return new AlertExpression(expr, null, null, groupLabels);
    }

    private static IEnumerable<(string Field, string Value)> Filters(AlertFilter? filter) =>
        filter is null ? [] : Dimension.All.Where(d => d.FilterValue(filter) is not null).Select(d => (d.FilterField, d.FilterValue(filter)!));

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
