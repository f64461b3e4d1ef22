using System.Globalization;
using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>
/// Value of an alert's metric per group (one group "" without groupBy), or why it has none: for the
/// whole alert (<paramref name="Error"/>) or for single groups (<paramref name="GroupErrors"/>; the
/// other groups have their values).
/// </summary>
public sealed record AlertValues(IReadOnlyDictionary<string, decimal> Groups, string? Error, IReadOnlyDictionary<string, string>? GroupErrors = null)
{
    public static AlertValues Failed(string error) => new(new Dictionary<string, decimal>(), error);
}

/// <summary>
/// Computes every alert metric from a window's data — pure, so one load serves many alerts.
/// tokens = input + output; cost = sum of priced usage (unpriced usage is left out; usage in two
/// currencies is an error of that group, filter by model); errorRate = failures ÷ calls; p95LatencyMs from the
/// merged latency histogram; circuitBreakerOpen = servers open at some point of the window;
/// webhookFailureRate = failed ÷ all webhook attempts. A group with no data has no value.
/// </summary>
public static class AlertCalculator
{
    public static AlertValues Compute(AlertDefinition alert, WindowData data) => alert.Metric switch
    {
        AlertMetrics.CircuitBreakerOpen => Breakers(alert, data),
        AlertMetrics.WebhookFailureRate => Webhooks(alert, data),
        _ => Usage(alert, data),
    };

    private static AlertValues Usage(AlertDefinition alert, WindowData data)
    {
        var groupBy = alert.GroupBy is null ? null : Dimension.Find(alert.GroupBy);
        var groups = data.Usage.Where(r => r.Dims.Matches(alert.Filter))
            .GroupBy(r => groupBy is null ? "" : r.Dims.Of(groupBy));
        var values = new Dictionary<string, decimal>();
        var errors = new Dictionary<string, string>();
        foreach (var g in groups)
        {
            decimal? value;
            switch (alert.Metric)
            {
                // Sums in decimal: a long sum of saturated rows would overflow.
                case AlertMetrics.Tokens:
                    value = g.Sum(r => (decimal)r.InputTokens + r.OutputTokens);
                    break;
                case AlertMetrics.CallCount:
                    value = g.Sum(r => (decimal)r.Calls);
                    break;
                case AlertMetrics.ErrorRate:
                    var calls = g.Sum(r => (decimal)r.Calls);
                    value = calls == 0 ? null : Math.Round(g.Sum(r => (decimal)r.Failures) / calls, 6);
                    break;
                case AlertMetrics.P95LatencyMs:
                    var merged = new long[LatencyBuckets.Count];
                    foreach (var r in g)
                        for (var i = 0; i < merged.Length; i++) merged[i] += r.Histogram[i];
                    value = LatencyBuckets.Quantile(merged, 0.95) is { } p95 ? Math.Round((decimal)p95, 3) : null;
                    break;
                default: // cost
                    var priced = g.Where(r => r.Cost is not null).ToList();
                    var currencies = priced.Select(r => r.Currency).Distinct().Order().ToList();
                    if (currencies.Count > 1)
                    {
                        errors[g.Key] = $"cost spans currencies {string.Join(", ", currencies)}{(g.Key.Length > 0 ? $" in group {g.Key}" : "")}: " +
                                        "filter or group by model so one currency applies";
                        continue;
                    }
                    value = priced.Count == 0 ? null : priced.Sum(r => r.Cost!.Value);
                    break;
            }
            if (value is { } v) values[g.Key] = v;
        }
        // Sums over no data are zero; ratios and quantiles of nothing have no value.
        if (alert.GroupBy is null && values.Count == 0 && errors.Count == 0 && alert.Metric is AlertMetrics.Tokens or AlertMetrics.CallCount or AlertMetrics.Cost)
            values[""] = 0;
        return new AlertValues(values, null, errors);
    }

    private static AlertValues Breakers(AlertDefinition alert, WindowData data)
    {
        if (Unsupported(alert, Dimension.Server) is { } error) return AlertValues.Failed(error);
        var open = data.OpenBreakers.Where(s => alert.Filter.ServerLabel is null || s == alert.Filter.ServerLabel).ToList();
        if (alert.GroupBy is null) return new AlertValues(new Dictionary<string, decimal> { [""] = open.Count }, null);
        return new AlertValues(open.ToDictionary(s => s, _ => 1m), null);
    }

    private static AlertValues Webhooks(AlertDefinition alert, WindowData data)
    {
        if (Unsupported(alert, Dimension.Tenant) is { } error) return AlertValues.Failed(error);
        var rows = data.WebhookAttempts.Where(kv => alert.Filter.TenantId is null || kv.Key == alert.Filter.TenantId)
            .GroupBy(kv => alert.GroupBy is null ? "" : kv.Key);
        var values = new Dictionary<string, decimal>();
        foreach (var g in rows)
        {
            var attempts = g.Sum(kv => kv.Value.Attempts);
            if (attempts > 0) values[g.Key] = Math.Round((decimal)g.Sum(kv => kv.Value.Failures) / attempts, 6);
        }
        return new AlertValues(values, null);
    }

    /// <summary>Filters and groupBy a metric cannot honour are an error, never silently ignored.</summary>
    private static string? Unsupported(AlertDefinition alert, Dimension only)
    {
        var set = Dimension.All.Where(d => d != only && d.FilterValue(alert.Filter) is not null).Select(d => d.FilterField).ToList();
        if (set.Count > 0)
            return $"{alert.Metric} can only be filtered by {only.FilterField}; remove filter.{string.Join(", filter.", set)}";
        if (alert.GroupBy is not null && alert.GroupBy != only.Name)
            return $"{alert.Metric} can only be grouped by {only.Name}, not {alert.GroupBy}";
        return null;
    }

    public static string Format(decimal value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
