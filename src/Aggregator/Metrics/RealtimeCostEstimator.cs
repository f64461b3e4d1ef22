using System.Globalization;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>Tokens and cost of one tool call as the real-time metrics count them.</summary>
public readonly record struct CallEstimate(long InputTokens, long OutputTokens, decimal? Cost, string? Currency);

/// <summary>
/// Estimates tokens and cost of a tool call the moment it is ingested, with the same rules as the
/// <c>usage_events_estimated</c> view: the model's CostRate with the latest <c>effectiveFrom</c> on or
/// before the event's UTC day; reported token counts win, else bytes ÷ <c>bytesPerToken</c> (default 4),
/// output capped at <c>maxOutputTokens</c>. The counters keep what was estimated at ingest time: a rate
/// loaded later (e.g. back-dated) changes the daily aggregates but not counters already incremented.
/// </summary>
public sealed class RealtimeCostEstimator
{
    private sealed record Rate(DateOnly From, string Currency, decimal InputPerMillion, decimal OutputPerMillion, int BytesPerToken, long? MaxOutputTokens);

    private volatile IReadOnlyDictionary<string, Rate[]> _rates = new Dictionary<string, Rate[]>();

    public RealtimeCostEstimator(ResourceStore store)
    {
        Load(store.Current);
        store.Changed += Load;
    }

    private void Load(ResourceSet set)
    {
        _rates = set.CostRates
            .Where(r => !string.IsNullOrEmpty(r.Spec.Model))
            .Select(r => (r.Spec.Model!, Rate: ToRate(r.Spec)))
            .Where(x => x.Rate is not null)
            .GroupBy(x => x.Item1, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Rate!).OrderByDescending(r => r.From).ToArray(), StringComparer.Ordinal);
    }

    private static Rate? ToRate(CostRateSpec s) =>
        DateOnly.TryParseExact(s.EffectiveFrom, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
            ? new Rate(from, s.Currency, s.InputPerMillionTokens?.Value ?? 0, s.OutputPerMillionTokens?.Value ?? 0,
                s.TokenEstimation?.BytesPerToken is > 0 and var b ? b : 4, s.TokenEstimation?.MaxOutputTokens)
            : null;

    public CallEstimate Estimate(UsageEvent e)
    {
        var rate = RateFor(e.Model, DateOnly.FromDateTime(e.Time.UtcDateTime));
        var bytesPerToken = rate?.BytesPerToken ?? 4;
        var input = e.InputTokens ?? (e.RequestBytes ?? 0) / bytesPerToken;
        var output = e.OutputTokens ?? (e.ResponseBytes ?? 0) / bytesPerToken;
        if (e.OutputTokens is null && rate?.MaxOutputTokens is { } cap) output = Math.Min(output, cap);
        if (rate is null) return new CallEstimate(input, output, null, null);
        var cost = (input * rate.InputPerMillion + output * rate.OutputPerMillion) / 1_000_000m;
        return new CallEstimate(input, output, cost, rate.Currency);
    }

    private Rate? RateFor(string? model, DateOnly day)
    {
        if (model is null || !_rates.TryGetValue(model, out var history)) return null;
        foreach (var r in history)
            if (r.From <= day) return r;
        return null;
    }
}
