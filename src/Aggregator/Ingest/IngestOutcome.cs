namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// What became of a batch handed to <see cref="IngestService.SubmitAsync"/>: each case is one answer
/// of an ingest endpoint (HTTP JSON or OTLP).
/// </summary>
public abstract record IngestOutcome
{
    private IngestOutcome() { }

    /// <summary>Committed, so durable: the events new to the database, and how many were stored already.</summary>
    public sealed record Stored(WriteResult Result) : IngestOutcome;

    /// <summary>Refused as sent (a 400): every problem names the event's index and field. Nothing stored.</summary>
    public sealed record Refused(IReadOnlyList<IngestProblem> Problems) : IngestOutcome;

    /// <summary>
    /// Turned away before anything was queued (a 503 or OTLP's 429/503 with Retry-After): the queue or
    /// memory budget is full, or the day's partition could not be created yet. Nothing stored; send
    /// the same batch again after <see cref="RetryAfter"/>.
    /// </summary>
    public sealed record Saturated(TimeSpan RetryAfter, string Reason) : IngestOutcome;

    /// <summary>
    /// The database failed while storing (a 503). <see cref="NothingStored"/>: PostgreSQL refused the
    /// write and rolled it back. Otherwise the outcome is unknown (the connection broke, possibly after
    /// the commit): a retry with the same event_ids is safe, they are stored once.
    /// </summary>
    public sealed record Failed(bool NothingStored, Exception Error) : IngestOutcome;
}
