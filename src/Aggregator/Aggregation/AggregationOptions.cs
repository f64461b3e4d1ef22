namespace AgentMeter.Aggregator.Aggregation;

/// <summary>Section <c>Aggregation</c>.</summary>
public sealed class AggregationOptions
{
    /// <summary>Cron (5 fields, UTC) of the catch-up run; every closed day not yet aggregated is done.</summary>
    public string Schedule { get; set; } = "0 0 * * *";
    /// <summary>
    /// PostgreSQL work_mem of the day's transaction: the GROUP BY sorts the whole day, and a sort
    /// that fits in memory is several times faster than one spilled to disk. Memory of the
    /// database server, not of the aggregator process.
    /// </summary>
    public string WorkMem { get; set; } = "256MB";
}
