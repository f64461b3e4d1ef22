using AgentMeter.Aggregator.Ingest;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// Feeds every committed batch into the real-time Prometheus metrics. Counts are summed per series
/// within the batch first, so a batch of a thousand calls touches each series once: this runs on
/// the ingest request path.
/// </summary>
public sealed class MetricsIngestObserver(RegistryMetrics metrics, RealtimeCostEstimator estimator) : IIngestObserver
{
    public void OnCommitted(IReadOnlyList<UsageEvent> events)
    {
        var calls = new Dictionary<(string?, string?, string), long>();
        var durations = new Dictionary<(string?, string?), List<double>>();
        var tokens = new Dictionary<(string?, string?), long>();
        var costs = new Dictionary<(string?, string?, string), decimal>();
        var requests = new Dictionary<(string?, string?), long>();
        foreach (var e in events)
        {
            switch (e.Type)
            {
                case EventTypes.ToolCall:
                    Add(calls, (e.ToolName, e.ServerLabel, e.Status ?? "success"), 1);
                    if (e.LatencyMs is { } ms)
                    {
                        if (!durations.TryGetValue((e.ToolName, e.ServerLabel), out var list)) durations[(e.ToolName, e.ServerLabel)] = list = [];
                        list.Add(ms);
                    }
                    var estimate = estimator.Estimate(e);
                    Add(tokens, (e.Model, e.AgentId), estimate.InputTokens + estimate.OutputTokens);
                    if (estimate is { Cost: { } cost, Currency: { } currency })
                        costs[(e.Model, e.AgentId, currency)] = costs.GetValueOrDefault((e.Model, e.AgentId, currency)) + cost;
                    break;
                case EventTypes.AgentRequest:
                    Add(requests, (e.AgentId, e.Method), 1);
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
        foreach (var ((tool, server, status), n) in calls) metrics.ToolCalls(tool, server, status, n);
        foreach (var ((tool, server), list) in durations) metrics.ToolCallDurations(tool, server, list);
        foreach (var ((model, agent), n) in tokens) metrics.Tokens(model, agent, n);
        foreach (var ((model, agent, currency), c) in costs) metrics.Cost(model, agent, currency, c);
        foreach (var ((agent, method), n) in requests) metrics.AgentRequests(agent, method, n);
    }

    private static void Add<TKey>(Dictionary<TKey, long> sums, TKey key, long n) where TKey : notnull =>
        sums[key] = sums.GetValueOrDefault(key) + n;
}
