namespace AgentMeter.Aggregator.Aggregation;

/// <summary>Section <c>Aggregation</c>.</summary>
public sealed class AggregationOptions
{
    /// <summary>Cron (5 fields, UTC) of the catch-up run, delayed by <see cref="Grace"/>; every closed day not yet aggregated is done.</summary>
    public string Schedule { get; set; } = "0 0 * * *";
    /// <summary>
    /// How long after its end (UTC midnight) a day waits before it is aggregated, so events sent just
    /// before midnight and retried (or sent by a clock up to Ingest__MaxClockSkew behind) still make it
    /// into the day's own rows. At least the accepted clock skew plus a gateway's retry time.
    /// </summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromMinutes(15);
    /// <summary>
    /// How often the aggregator looks for work between scheduled runs: days whose grace has passed,
    /// failed days due for a retry, and late events to append to their day.
    /// </summary>
    public TimeSpan PassInterval { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>
    /// PostgreSQL work_mem of the day's transaction: the GROUP BY sorts the whole day, and a sort
    /// that fits in memory is several times faster than one spilled to disk. Memory of the
    /// database server, not of the aggregator process.
    /// </summary>
    public string WorkMem { get; set; } = "256MB";
}
