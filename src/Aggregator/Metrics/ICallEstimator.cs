using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>Tokens and cost of one tool or model call as the real-time metrics count them (Cost null: unpriced).</summary>
public readonly record struct CallEstimate(long InputTokens, long OutputTokens, decimal? Cost, string? Currency);

/// <summary>
/// Prices a call the moment it is ingested, for the cost counters. Implemented by Costs
/// (RealtimeCostEstimator, the pricing rule in C#): declared here so the metrics, which the
/// aggregation also counts through, do not depend on the costs capability.
/// </summary>
public interface ICallEstimator
{
    CallEstimate Estimate(UsageEvent e);
}
