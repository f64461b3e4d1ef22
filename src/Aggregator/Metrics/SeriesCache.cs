using System.Collections.Concurrent;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// Series by their raw (unfolded) pair of label values, so the per-event path skips label folding and
/// prometheus-net's label lookup after the first event of a series. Bounded, because the raw values
/// come from the outside: past <c>maxEntries</c> a series is made afresh on each call — the same
/// Prometheus series, only slower.
/// </summary>
public sealed class SeriesCache<TSeries>(int maxEntries, Func<string?, string?, TSeries> create) where TSeries : class
{
    private readonly ConcurrentDictionary<(string?, string?), TSeries> _series = new();
    private int _count;

    public TSeries Get(string? first, string? second)
    {
        if (_series.TryGetValue((first, second), out var series)) return series;
        series = create(first, second);
        if (Volatile.Read(ref _count) >= maxEntries) return series;
        if (!_series.TryAdd((first, second), series)) return _series[(first, second)];
        Interlocked.Increment(ref _count);
        return series;
    }
}
