using AgentMeter.Aggregator.Ingest;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>Feeds every committed event into the real-time Prometheus metrics.</summary>
public sealed class MetricsIngestObserver(RegistryMetrics metrics, RealtimeCostEstimator estimator) : IIngestObserver
{
    public void OnCommitted(IReadOnlyList<UsageEvent> events)
    {
        foreach (var e in events)
        {
            switch (e.Type)
            {
                case EventTypes.ToolCall:
                    metrics.ToolCall(e.ToolName, e.ServerLabel, e.Status ?? "success", e.LatencyMs);
                    var estimate = estimator.Estimate(e);
                    metrics.Tokens(e.Model, e.AgentId, estimate.InputTokens + estimate.OutputTokens);
                    if (estimate is { Cost: { } cost, Currency: { } currency })
                        metrics.Cost(e.Model, e.AgentId, currency, cost);
                    break;
                case EventTypes.AgentRequest:
                    metrics.AgentRequest(e.AgentId, e.Method);
                    break;
                case EventTypes.CircuitBreaker:
                    metrics.CircuitBreaker(e.ServerLabel, e.State ?? "closed");
                    break;
                case EventTypes.SseConnection:
                    metrics.SseConnection(e.State ?? "opened");
                    break;
            }
        }
    }
}
