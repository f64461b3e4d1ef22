using System.Collections.Concurrent;
using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// Keeps one label of one metric to at most <c>max</c> distinct values: the first values seen are
/// admitted, any later new value is reported as <see cref="Other"/> and counted once in the folded
/// series counter. Agent, tool and user ids come from the outside, so without this bound a single
/// misbehaving gateway could blow up Prometheus.
/// </summary>
public sealed class BoundedLabel(int max, Counter.Child folded)
{
    public const string Other = "other";

    /// <summary>How many distinct folded values are remembered to count each only once; beyond it the counter stops growing.</summary>
    private const int FoldedMemory = 100_000;

    private readonly ConcurrentDictionary<string, byte> _admitted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _folded = new(StringComparer.Ordinal);
    private readonly Lock _admit = new();

    public string Apply(string? value)
    {
        value ??= "";
        if (_admitted.ContainsKey(value)) return value;
        lock (_admit)
        {
            if (_admitted.ContainsKey(value)) return value;
            if (_admitted.Count < max)
            {
                _admitted[value] = 0;
                return value;
            }
        }
        if (_folded.Count < FoldedMemory && _folded.TryAdd(value, 0)) folded.Inc();
        return Other;
    }
}
