namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Upper bounds of an event's numbers, so that no day's sums can overflow PostgreSQL's bigint or
/// double arithmetic (reasoning in docs/core.md, "Bounds"): at most <see cref="DesignEventsPerDay"/>
/// events a day, each at most <see cref="MaxCount"/> tokens or bytes, sum to 10^17 per column — a
/// month of it (3.1 × 10^18) still fits a bigint (9.22 × 10^18).
/// </summary>
public static class EventBounds
{
    /// <summary>Tokens (input, output, cached) and bytes (request, response) of one event.</summary>
    public const long MaxCount = 100_000_000;

    /// <summary>Latency of one call: a day. More is a clock or unit error (microseconds sent as milliseconds).</summary>
    public const double MaxLatencyMs = 86_400_000;

    /// <summary>The volume the bounds are sized for: 10^9 events a day, over 11,000 a second around the clock.</summary>
    public const long DesignEventsPerDay = 1_000_000_000;
}
