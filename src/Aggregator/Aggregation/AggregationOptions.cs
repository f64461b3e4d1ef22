namespace AgentMeter.Aggregator.Aggregation;

/// <summary>Section <c>Aggregation</c>.</summary>
public sealed class AggregationOptions
{
    /// <summary>Cron (5 fields, UTC) of the catch-up run; every closed day not yet aggregated is done.</summary>
    public string Schedule { get; set; } = "0 0 * * *";
}
