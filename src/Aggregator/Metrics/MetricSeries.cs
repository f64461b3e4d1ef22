using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// The series of one tool on one MCP server. Each Prometheus child is resolved on first use, so a tool
/// that never failed (or never reported a latency) shows no empty series, as before this cache existed.
/// </summary>
public sealed class ToolSeries(RegistryMetrics metrics, string? tool, string? server)
{
    private Counter.Child? _successes, _failures;
    private Histogram.Child? _durations;

    public void Count(bool failed)
    {
        if (failed) (_failures ??= metrics.ToolCallsChild(tool, server, "failure")).Inc();
        else (_successes ??= metrics.ToolCallsChild(tool, server, "success")).Inc();
    }

    public void ObserveDuration(double seconds) => (_durations ??= metrics.ToolCallDurationChild(tool, server)).Observe(seconds);
}

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
