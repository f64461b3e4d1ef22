using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// Caps the number of label combinations (series; a histogram's counts once) of all domain metrics
/// together at <c>Metrics__MaxSeries</c>: the per-label bound (<see cref="BoundedLabel"/>) still lets
/// 500 tools × 500 servers through, this stops the product. The first combinations are admitted; a
/// new one past the cap goes to its metric's overflow series (every data-derived label "other") and
/// is counted once in <c>agentmeter_metrics_series_capped_total{metric}</c>.
/// </summary>
public sealed class SeriesBudget(int max, Counter capped)
{
    private readonly Admission _series = new(max);

    /// <summary>True when the combination may have a series of its own; false when it goes to the overflow series.</summary>
    public bool Admit(string metric, ReadOnlySpan<string> labelValues)
    {
        if (_series.TryAdmit(string.Join('\u0001', [metric, .. labelValues]), out var first)) return true;
        if (first) capped.WithLabels(metric).Inc();
        return false;
    }
}
