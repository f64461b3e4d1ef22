namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// One thing wrong with a posted batch: the event's position (0-based; null when the body as a
/// whole is unreadable), the field and what to fix.
/// </summary>
public sealed record IngestProblem(int? Index, string Field, string Problem);
