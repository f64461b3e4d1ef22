using System.Text;
using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Values;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>A UsageAlert with its durations and threshold parsed, as the evaluator uses it.</summary>
public sealed record AlertDefinition(
    UsageAlert Resource, string Namespace, string Name, string Metric, decimal Threshold, TimeSpan Window, TimeSpan Cooldown,
    string? GroupBy, AlertFilter Filter)
{
    /// <summary>The tenant whose data the alert is about (filter or group), recorded with its webhook attempts.</summary>
    public string? TenantFor(string group) => GroupBy == Dimension.Tenant.Name && group.Length > 0 ? group : Filter.TenantId;

    /// <summary>
    /// What the alert's group values depend on (window, metric, groupBy, filter — not the threshold):
    /// alerts of one shape share one computation per cycle.
    /// </summary>
    public string Shape { get; } = ShapeOf(Window, Metric, GroupBy, Filter);

    private static string ShapeOf(TimeSpan window, string metric, string? groupBy, AlertFilter filter)
    {
        // Each part with its length (or '-' when absent): no two shapes give the same text.
        var key = new StringBuilder().Append(window.Ticks);
        foreach (var part in Dimension.All.Select(d => d.FilterValue(filter)).Prepend(groupBy).Prepend(metric))
            if (part is null) key.Append("|-");
            else key.Append('|').Append(part.Length).Append(':').Append(part);
        return key.ToString();
    }

    /// <summary>Null with a reason when the resource cannot be evaluated (the loader normally rejects such documents).</summary>
    public static AlertDefinition? From(UsageAlert alert, out string error)
    {
        var s = alert.Spec;
        error = "";
        if (!AlertMetrics.All.Contains(s.Metric)) error = $"spec.metric \"{s.Metric}\" is not one of {string.Join(", ", AlertMetrics.All)}";
        else if (s.Threshold is null) error = "spec.threshold is required";
        else if (!Duration.TryParse(s.Window, out _)) error = $"spec.window \"{s.Window}\" is not a duration";
        else if (s.Cooldown is not null && !Duration.TryParse(s.Cooldown, out _)) error = $"spec.cooldown \"{s.Cooldown}\" is not a duration";
        if (error.Length > 0) return null;
        Duration.TryParse(s.Window, out var window);
        var cooldown = TimeSpan.Zero;
        if (s.Cooldown is not null) Duration.TryParse(s.Cooldown, out cooldown);
        return new AlertDefinition(alert, ResourceNamespace.Of(alert.Metadata), alert.Metadata.Name, s.Metric,
            s.Threshold!.Value.Value, window, cooldown, s.GroupBy, s.Filter ?? new AlertFilter());
    }
}
