using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>Tool-call usage (and the tokens and cost of model calls) of one dimension combination (and currency) within a window.</summary>
public sealed class UsageRow(UsageDimensions dims, string currency)
{
    public UsageDimensions Dims { get; } = dims;
    /// <summary>'' for unpriced usage.</summary>
    public string Currency { get; } = currency;
    public long Calls { get; set; }
    public long Failures { get; set; }
    public long InputTokens { get; set; }
    public long OutputTokens { get; set; }
    public decimal? Cost { get; set; }
    /// <summary>Counts per agentmeter_latency_bucket.</summary>
    public long[] Histogram { get; } = new long[LatencyBuckets.Count];
}
