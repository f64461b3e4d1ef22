using AgentMeter.Aggregator.Ingest;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// Feeds every committed batch into the real-time Prometheus metrics. Counts are summed per series
/// within the batch first — one lookup per event for its tool/server and one for its model/agent —
/// so a batch of a thousand calls touches each Prometheus series once: this runs on the ingest
/// request path.
/// </summary>
public sealed class MetricsIngestObserver(RegistryMetrics metrics, RealtimeCostEstimator estimator) : IIngestObserver
{
    private sealed class ToolSums
    {
        public long Successes, Failures;
        public readonly List<double> LatenciesMs = [];
    }

    private sealed class UsageSums
    {
        public long Tokens;
        public string? Currency;
        public decimal Cost;
        /// <summary>Costs in a second currency (a rate change within the batch's days); rare.</summary>
        public Dictionary<string, decimal>? OtherCurrencies;
    }

    public void OnCommitted(IReadOnlyList<UsageEvent> events)
    {
        var tools = new Dictionary<(string?, string?), ToolSums>();
        var usage = new Dictionary<(string?, string?), UsageSums>();
        var requests = new Dictionary<(string?, string?), long>();
        foreach (var e in events)
        {
            switch (e.Type)
            {
                case EventTypes.ToolCall:
                    if (!tools.TryGetValue((e.ToolName, e.ServerLabel), out var t)) tools[(e.ToolName, e.ServerLabel)] = t = new ToolSums();
                    if (e.Status == "failure") t.Failures++;
                    else t.Successes++;
                    if (e.LatencyMs is { } ms) t.LatenciesMs.Add(ms);
                    var estimate = estimator.Estimate(e);
                    if (!usage.TryGetValue((e.Model, e.AgentId), out var u)) usage[(e.Model, e.AgentId)] = u = new UsageSums();
                    u.Tokens += estimate.InputTokens + estimate.OutputTokens;
                    if (estimate is { Cost: { } cost, Currency: { } currency })
                    {
                        u.Currency ??= currency;
                        if (u.Currency == currency) u.Cost += cost;
                        else (u.OtherCurrencies ??= [])[currency] = u.OtherCurrencies.GetValueOrDefault(currency) + cost;
                    }
                    break;
                case EventTypes.AgentRequest:
                    requests[(e.AgentId, e.Method)] = requests.GetValueOrDefault((e.AgentId, e.Method)) + 1;
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
        foreach (var ((tool, server), t) in tools)
        {
            if (t.Successes > 0) metrics.ToolCalls(tool, server, "success", t.Successes);
            if (t.Failures > 0) metrics.ToolCalls(tool, server, "failure", t.Failures);
            if (t.LatenciesMs.Count > 0) metrics.ToolCallDurations(tool, server, t.LatenciesMs);
        }
        foreach (var ((model, agent), u) in usage)
        {
            metrics.Tokens(model, agent, u.Tokens);
            if (u.Currency is not null) metrics.Cost(model, agent, u.Currency, u.Cost);
            foreach (var (currency, cost) in u.OtherCurrencies ?? []) metrics.Cost(model, agent, currency, cost);
        }
        foreach (var ((agent, method), n) in requests) metrics.AgentRequests(agent, method, n);
    }
}
