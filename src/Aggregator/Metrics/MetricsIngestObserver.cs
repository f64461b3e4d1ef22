using AgentMeter.Aggregator.Ingest;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// Feeds every committed batch into the real-time Prometheus metrics. This runs on the ingest request
/// path, so each event costs two lookups of its cached series (tool/server and model/agent) and a few
/// atomic increments; label folding and prometheus-net's label lookup happen once per series.
/// </summary>
public sealed class MetricsIngestObserver(RegistryMetrics metrics, ICallEstimator estimator) : IIngestObserver
{
    public void OnCommitted(IReadOnlyList<UsageEvent> events)
    {
        foreach (var e in events)
        {
            switch (e.Type)
            {
                case EventTypes.ToolCall:
                    var tool = metrics.Tools.Get(e.ToolName, e.ServerLabel);
                    tool.Count(failed: e.Status == "failure");
                    if (e.LatencyMs is { } ms) tool.ObserveDuration(ms / 1000.0);
                    CountUsage(e);
                    break;
                case EventTypes.ModelCall:
                    CountUsage(e);
                    break;
                case EventTypes.AgentRequest:
                    metrics.AgentRequests.Get(e.AgentId, e.Method).Inc();
                    break;
                // Gauges: the order of events matters, so they are applied one by one.
                case EventTypes.CircuitBreaker:
                    metrics.CircuitBreaker(e.ServerLabel, e.State ?? "closed");
                    break;
                case EventTypes.SseConnection:
                    metrics.SseConnection(e.State ?? "opened");
                    break;
            }
        }
    }

    /// <summary>Tokens and cost of a tool or model call, per model and agent.</summary>
    private void CountUsage(UsageEvent e)
    {
        var estimate = estimator.Estimate(e);
        var usage = metrics.Usage.Get(e.Model, e.AgentId);
        usage.AddTokens(estimate.InputTokens + estimate.OutputTokens);
        if (estimate is { Cost: { } cost, Currency: { } currency }) usage.AddCost(currency, cost);
    }
}
