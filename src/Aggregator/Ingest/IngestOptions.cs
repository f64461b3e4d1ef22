namespace AgentMeter.Aggregator.Ingest;

/// <summary>Section <c>Ingest</c>: limits of <c>POST /api/v1/events</c>.</summary>
public sealed class IngestOptions
{
    /// <summary>Events per request; a bigger batch gets 413 (split it).</summary>
    public int MaxBatchEvents { get; set; } = 10_000;
    /// <summary>Request body bytes; a bigger body gets 413.</summary>
    public long MaxBodyBytes { get; set; } = 16 * 1024 * 1024;
    /// <summary>How far an event's time may be ahead of the server clock (gateway clock skew).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>
    /// How far an event's time may be behind the server clock: 90 days, the default daily and raw-event
    /// retention, so an accepted event lands on a day that is still kept day by day. Raise it for a
    /// backfill (and keep it within the RetentionPolicy's dailyRetentionDays).
    /// </summary>
    public TimeSpan MaxEventAge { get; set; } = TimeSpan.FromDays(90);
    /// <summary>
    /// Distinct UTC days one batch may span: each new day is a partition to create. A real-time batch
    /// spans one or two; a backfill sends its days in turn.
    /// </summary>
    public int MaxDaysPerBatch { get; set; } = 7;
    /// <summary>
    /// Database connections that store batches at once; batches arriving while all are busy are
    /// stored together in the next free one's transaction (group commit). Two, so that one writer's
    /// COPY runs while the other waits for its commit and round trips: with one, PostgreSQL sat idle
    /// a third of the time on the 2-core bench machine (docs/ingest-performance.md).
    /// </summary>
    public int Writers { get; set; } = 2;
    /// <summary>
    /// Events waiting for a writer, from every source together; past it a batch is turned away with
    /// 503 and Retry-After (nothing stored). Bounds the wait of a queued batch, too.
    /// </summary>
    public int MaxQueuedEvents { get; set; } = 100_000;
    /// <summary>
    /// Bytes that request bodies and the events read from them may hold at once; a request that does
    /// not fit gets 503 with Retry-After (nothing stored). Unset: a quarter of the memory the runtime
    /// may use (GC's TotalAvailableMemoryBytes: in a container, 75 % of its memory limit).
    /// </summary>
    public long? MemoryBudgetBytes { get; set; }
}
