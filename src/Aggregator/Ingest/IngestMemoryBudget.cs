namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Bytes that request bodies and the events read from them may hold at once
/// (<see cref="IngestOptions.MemoryBudgetBytes"/>), so that a flood of large bodies is turned away
/// instead of growing the process past its memory limit: in a pod, an OOM kill loses every batch in
/// flight. Requests that do not fit are answered at once (503), never queued: a waiting request would
/// hold its connection's buffers too.
/// </summary>
public sealed class IngestMemoryBudget(IngestOptions options)
{
    /// <summary>A quarter of what the runtime may use: the rest is the process itself, the queue and garbage not yet collected.</summary>
    public long Capacity { get; } = options.MemoryBudgetBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;

    private long _used;

    public long Used => Interlocked.Read(ref _used);

    /// <summary>A share of the budget for one request, or null when it does not fit (one request alone always fits).</summary>
    public Lease? TryTake(long bytes)
    {
        var lease = new Lease(this);
        return lease.TryGrowTo(bytes) ? lease : null;
    }

    /// <summary>Adds <paramref name="bytes"/> to a lease that holds <paramref name="own"/>; false when it does not fit.</summary>
    private bool TryAdd(long bytes, long own)
    {
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            // Alone, a request may take more than the budget: otherwise a small budget could refuse a body for good.
            if (bytes > 0 && used > own && used + bytes > Capacity) return false;
            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used) return true;
        }
    }

    /// <summary>One request's share; given back on dispose.</summary>
    public sealed class Lease(IngestMemoryBudget budget) : IDisposable
    {
        public long Bytes { get; private set; }

        public IngestMemoryBudget Budget => budget;

        /// <summary>Takes (or gives back) the difference to <paramref name="bytes"/>; false when more does not fit.</summary>
        public bool TryGrowTo(long bytes)
        {
            if (!budget.TryAdd(bytes - Bytes, Bytes)) return false;
            Bytes = bytes;
            return true;
        }

        public void Dispose()
        {
            budget.TryAdd(-Bytes, Bytes);
            Bytes = 0;
        }
    }
}
