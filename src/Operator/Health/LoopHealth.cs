using System.Collections.Concurrent;

namespace AgentMeter.Operator.Health;

/// <summary>
/// The operator's long-running loops (informers, status sync, resync, leader election) and when each last completed
/// a cycle, on the monotonic clock. A loop that has not completed one within <see cref="StallPeriods"/> of its periods
/// is stalled, and <c>/readyz</c> fails naming it: a loop that died or keeps failing is visible, not silent.
/// </summary>
public sealed class LoopHealth(TimeProvider time, int stallPeriods = 3)
{
    private sealed record Loop(TimeSpan Period, long LastCycle);

    private readonly ConcurrentDictionary<string, Loop> _loops = new();

    public int StallPeriods => stallPeriods;

    /// <summary>Starts watching a loop; its first cycle is due within the stall limit from now.</summary>
    public void Start(string loop, TimeSpan period) => _loops[loop] = new Loop(period, time.GetTimestamp());

    /// <summary>The loop completed a cycle.</summary>
    public void Cycle(string loop) => _loops.AddOrUpdate(loop, _ => new Loop(TimeSpan.Zero, time.GetTimestamp()), (_, l) => l with { LastCycle = time.GetTimestamp() });

    /// <summary>The loop ended on purpose (leadership lost, shutdown).</summary>
    public void Stop(string loop) => _loops.TryRemove(loop, out _);

    /// <summary>Every watched loop that is stalled, with how long since its last completed cycle.</summary>
    public IReadOnlyList<string> Stalled()
    {
        var stalled = new List<string>();
        foreach (var (name, loop) in _loops.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            var since = time.GetElapsedTime(loop.LastCycle);
            if (loop.Period > TimeSpan.Zero && since > loop.Period * stallPeriods)
                stalled.Add($"{name}: no completed cycle for {since.TotalSeconds:N0} s (period {loop.Period.TotalSeconds:N1} s)");
        }
        return stalled;
    }
}
