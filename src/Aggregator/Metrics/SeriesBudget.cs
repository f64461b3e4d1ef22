using System.Collections.Concurrent;
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
    /// <summary>How many distinct capped combinations are remembered to count each only once; beyond it the counter stops growing.</summary>
    private const int CappedMemory = 100_000;

    private readonly ConcurrentDictionary<string, byte> _admitted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _capped = new(StringComparer.Ordinal);
    private readonly Lock _admit = new();

    /// <summary>True when the combination may have a series of its own; false when it goes to the overflow series.</summary>
    public bool Admit(string metric, ReadOnlySpan<string> labelValues)
    {
        var key = string.Join('\u0001', [metric, .. labelValues]);
        if (_admitted.ContainsKey(key)) return true;
        lock (_admit)
        {
            if (_admitted.ContainsKey(key)) return true;
            if (_admitted.Count < max)
            {
                _admitted[key] = 0;
                return true;
            }
        }
        if (_capped.Count < CappedMemory && _capped.TryAdd(key, 0)) capped.WithLabels(metric).Inc();
        return false;
    }
}
