using System.Globalization;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>Tokens and cost of one tool or model call as the real-time metrics count them (Cost null: unpriced).</summary>
public readonly record struct CallEstimate(long InputTokens, long OutputTokens, decimal? Cost, string? Currency);

/// <summary>
/// Estimates tokens and cost of a tool or model call the moment it is ingested, by the rules of the
/// <c>usage_events_estimated</c> view (Database/Definitions/40_pricing.sql): the CostRate of the event's model (and the toolCallPrice
/// rate of its server) in force on the event's UTC day — latest effectiveFrom on or before it, ties
/// to the greater name; reported token counts win, else ceil(bytes ÷ bytesPerToken), output capped
/// at maxOutputTokens; cached input tokens at the cached price. Unpriced (no cost counted) when the
/// view says so. The counters keep what was estimated at ingest time: a rate loaded later (e.g.
/// back-dated) changes what daily aggregation computes, not counters already incremented.
/// </summary>
public sealed class RealtimeCostEstimator
{
    /// <summary>Prices per token (the per-million prices ÷ 10⁶, exact in decimal), so no division per event.</summary>
    private sealed record Rate(string Name, DateOnly From, string Currency, decimal InputPerToken, decimal OutputPerToken,
        decimal? CachedInputPerToken, decimal? ToolCallPrice, int BytesPerToken, long? MaxOutputTokens);

    private sealed record RateBook(IReadOnlyDictionary<string, Rate[]> Models, IReadOnlyDictionary<string, Rate[]> Servers);

    private volatile RateBook _book = new(new Dictionary<string, Rate[]>(), new Dictionary<string, Rate[]>());

    public RealtimeCostEstimator(ResourceStore store)
    {
        Load(store.Current);
        store.Changed += Load;
    }

    private void Load(ResourceSet set)
    {
        var rates = set.CostRates.Select(r => (r.Spec, Rate: ToRate(r))).Where(x => x.Rate is not null).ToList();
        _book = new RateBook(
            History(rates.Where(x => !string.IsNullOrEmpty(x.Spec.Model)), x => x.Spec.Model!),
            History(rates.Where(x => !string.IsNullOrEmpty(x.Spec.ServerLabel) && x.Rate!.ToolCallPrice is not null), x => x.Spec.ServerLabel!));
    }

    private static Dictionary<string, Rate[]> History(IEnumerable<(CostRateSpec Spec, Rate? Rate)> rates, Func<(CostRateSpec Spec, Rate? Rate), string> key) =>
        rates.GroupBy(key, StringComparer.Ordinal).ToDictionary(g => g.Key,
            g => g.Select(x => x.Rate!).OrderByDescending(r => r.From).ThenByDescending(r => r.Name, StringComparer.Ordinal).ToArray(),
            StringComparer.Ordinal);

    private static Rate? ToRate(CostRate r)
    {
        var s = r.Spec;
        if (!DateOnly.TryParseExact(s.EffectiveFrom, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)) return null;
        return new Rate(r.Metadata.Name, from, s.Currency, (s.InputPerMillionTokens?.Value ?? 0) / 1_000_000m,
            (s.OutputPerMillionTokens?.Value ?? 0) / 1_000_000m, s.CachedInputPerMillionTokens?.Value / 1_000_000m, s.ToolCallPrice?.Value,
            s.TokenEstimation?.BytesPerToken is > 0 and var b ? b : 4, s.TokenEstimation?.MaxOutputTokens);
    }

    public CallEstimate Estimate(UsageEvent e)
    {
        var book = _book;
        var day = DateOnly.FromDateTime(e.Time.UtcDateTime);
        var hasModel = !string.IsNullOrEmpty(e.Model);
        var model = hasModel ? InForce(book.Models, e.Model!, day) : null;
        var server = string.IsNullOrEmpty(e.ServerLabel) ? null : InForce(book.Servers, e.ServerLabel!, day);

        var bytesPerToken = model?.BytesPerToken ?? 4;
        var input = e.InputTokens ?? CeilDiv(e.RequestBytes ?? 0, bytesPerToken);
        var output = e.OutputTokens ?? CeilDiv(e.ResponseBytes ?? 0, bytesPerToken);
        if (e.OutputTokens is null && model?.MaxOutputTokens is { } cap) output = Math.Min(output, cap);
        var cached = Math.Min(e.CachedInputTokens ?? 0, input);

        var priced = hasModel ? model is not null && (server is null || server.Currency == model.Currency) : server is not null;
        if (!priced) return new CallEstimate(input, output, null, null);
        var cost = model is null ? 0m
            : (input - cached) * model.InputPerToken + cached * (model.CachedInputPerToken ?? model.InputPerToken) + output * model.OutputPerToken;
        cost += server?.ToolCallPrice ?? 0;
        return new CallEstimate(input, output, cost, model?.Currency ?? server!.Currency);
    }

    private static long CeilDiv(long bytes, int perToken) => (bytes + perToken - 1) / perToken;

    private static Rate? InForce(IReadOnlyDictionary<string, Rate[]> book, string key, DateOnly day)
    {
        if (!book.TryGetValue(key, out var history)) return null;
        foreach (var r in history)
            if (r.From <= day) return r;
        return null;
    }
}
