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
    /// Database connections that store batches at once; batches arriving while all are busy are
    /// stored together in the next free one's transaction (group commit). One keeps PostgreSQL's
    /// inserts from contending for the same index pages (events arrive in time order); raise it
    /// when one connection's COPY cannot keep up (PostgreSQL on more cores than the aggregator's).
    /// </summary>
    public int Writers { get; set; } = 1;
}
