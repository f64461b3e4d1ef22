using AgentMeter.Entities.Resources;

namespace AgentMeter.Operator.Rendering;

/// <summary>A PromQL alert expression, or why Prometheus cannot evaluate this alert (the aggregator still does).</summary>
public sealed record AlertExpression(string? Expr, string? Reason, string? Message, IReadOnlyList<string> GroupLabels)
{
    public static AlertExpression NotExpressible(string reason, string message) => new(null, reason, message, []);
}

/// <summary>
/// PromQL over the aggregator's metric names (DESIGN.md) for each UsageAlert metric Prometheus can evaluate.
/// Filters and groupBy map onto metric labels; a filter on a dimension a metric does not carry makes the alert
/// aggregator-only, because a rule that silently ignored the filter would fire for the wrong traffic.
/// </summary>
public static class AlertExpressions
{
    private sealed record Source(string Metric, IReadOnlyDictionary<string, string> Labels);

    private static readonly IReadOnlyDictionary<string, string> ToolLabels = new Dictionary<string, string>
    {
        ["toolName"] = "tool", ["serverLabel"] = "server", ["tool"] = "tool", ["server"] = "server",
    };

    private static readonly IReadOnlyDictionary<string, Source> Sources = new Dictionary<string, Source>
    {
        [AlertMetrics.Tokens] = new("registry_estimated_token_usage_total", new Dictionary<string, string>
        {
            ["model"] = "model", ["agentId"] = "agent_id", ["agent"] = "agent_id",
        }),
        [AlertMetrics.CallCount] = new("registry_tool_calls_total", ToolLabels),
        [AlertMetrics.ErrorRate] = new("registry_tool_calls_total", ToolLabels),
        [AlertMetrics.P95LatencyMs] = new("registry_tool_call_duration_seconds_bucket", ToolLabels),
        [AlertMetrics.CircuitBreakerOpen] = new("registry_circuit_breaker_state", new Dictionary<string, string>
        {
            ["serverLabel"] = "server", ["server"] = "server",
        }),
        [AlertMetrics.WebhookFailureRate] = new("registry_webhook_deliveries_total", new Dictionary<string, string>()),
    };

    public static AlertExpression For(UsageAlertSpec spec)
    {
        if (!Sources.TryGetValue(spec.Metric, out var source))
            return AlertExpression.NotExpressible("MetricNotInPrometheus",
                $"{spec.Metric} is not exported to Prometheus; the aggregator evaluates this alert");
        var selectors = new List<string>();
        foreach (var (field, value) in Filters(spec.Filter))
        {
            if (!source.Labels.TryGetValue(field, out var label))
                return AlertExpression.NotExpressible("FilterNotInPrometheus",
                    $"filter.{field} is not a label of {source.Metric}; the aggregator evaluates this alert");
            selectors.Add($"{label}=\"{Escape(value)}\"");
        }
        string[] groupLabels = [];
        if (spec.GroupBy is { } groupBy)
        {
            if (!source.Labels.TryGetValue(groupBy, out var label))
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

    private static IEnumerable<(string Field, string Value)> Filters(AlertFilter? filter)
    {
        if (filter is null) yield break;
        if (filter.TenantId is { } tenant) yield return ("tenantId", tenant);
        if (filter.AgentId is { } agent) yield return ("agentId", agent);
        if (filter.UserId is { } user) yield return ("userId", user);
        if (filter.ToolName is { } tool) yield return ("toolName", tool);
        if (filter.ServerLabel is { } server) yield return ("serverLabel", server);
        if (filter.Model is { } model) yield return ("model", model);
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
