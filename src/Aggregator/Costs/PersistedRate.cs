using System.Globalization;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Costs;

/// <summary>One row of <c>cost_rates</c>: what a valid CostRate resource stands for in the database.</summary>
public sealed record PersistedRate(
    string Name,
    string? Model,
    string? ServerLabel,
    string Currency,
    decimal InputPerMillion,
    decimal OutputPerMillion,
    decimal? CachedInputPerMillion,
    decimal? ToolCallPrice,
    DateOnly EffectiveFrom,
    int BytesPerToken,
    long? MaxOutputTokens)
{
    public const int DefaultBytesPerToken = 4;

    /// <summary>What the rate prices: a model (token pricing) or an MCP server (per-call pricing).</summary>
    public string Subject => Model is not null ? $"model \"{Model}\"" : $"serverLabel \"{ServerLabel}\"";

    /// <summary>Key that must be unique among persisted rates (the unique indexes of migration 0100).</summary>
    public (string?, string?, DateOnly) PriceKey => (Model, ServerLabel, EffectiveFrom);

    /// <summary>Maps a CostRate that passed validation (exactly one of model / serverLabel, a valid date).</summary>
    public static PersistedRate From(CostRate rate)
    {
        var s = rate.Spec;
        return new PersistedRate(
            rate.Metadata.Name,
            string.IsNullOrWhiteSpace(s.Model) ? null : s.Model,
            string.IsNullOrWhiteSpace(s.ServerLabel) ? null : s.ServerLabel,
            s.Currency,
            // A model rate may give only one side: the other side is free, not unknown.
            s.InputPerMillionTokens?.Value ?? 0m,
            s.OutputPerMillionTokens?.Value ?? 0m,
            s.CachedInputPerMillionTokens?.Value,
            s.ToolCallPrice?.Value,
            DateOnly.ParseExact(s.EffectiveFrom, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            s.TokenEstimation?.BytesPerToken ?? DefaultBytesPerToken,
            s.TokenEstimation?.MaxOutputTokens);
    }
}
