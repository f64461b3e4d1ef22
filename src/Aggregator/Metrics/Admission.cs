using System.Collections.Concurrent;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// Admits the first <c>max</c> distinct keys and refuses every later new one, telling the caller the
/// first time each refused key is seen (remembered up to <see cref="RefusedMemory"/>), so it can be
/// counted once. The shared rule of <see cref="BoundedLabel"/> and <see cref="SeriesBudget"/>.
/// </summary>
public sealed class Admission(int max)
{
    /// <summary>How many distinct refused keys are remembered to report each only once; beyond it none is reported.</summary>
    private const int RefusedMemory = 100_000;

    private readonly ConcurrentDictionary<string, byte> _admitted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _refused = new(StringComparer.Ordinal);
    private readonly Lock _admit = new();

    public bool TryAdmit(string key, out bool firstRefusal)
    {
        firstRefusal = false;
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
        firstRefusal = _refused.Count < RefusedMemory && _refused.TryAdd(key, 0);
        return false;
    }
}
