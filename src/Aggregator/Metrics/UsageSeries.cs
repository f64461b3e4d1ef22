using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>The estimated token and cost series of one model and agent.</summary>
public sealed class UsageSeries(RegistryMetrics metrics, string? model, string? agentId)
{
    private sealed record CostChild(string Currency, Counter.Child Child);

    private Counter.Child? _tokens;
    /// <summary>The currency seen last: one in practice; a second (a rate in another currency) resolves again.</summary>
    private CostChild? _cost;

    public void AddTokens(long tokens)
    {
        if (tokens > 0) (_tokens ??= metrics.TokensChild(model, agentId)).Inc(tokens);
    }

    public void AddCost(string currency, decimal cost)
    {
        if (cost <= 0) return;
        var c = _cost;
        if (c is null || c.Currency != currency) _cost = c = new CostChild(currency, metrics.CostChild(model, agentId, currency));
        c.Child.Inc((double)cost);
    }
}
