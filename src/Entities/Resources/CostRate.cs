using System.Text.Json.Serialization;
using AgentMeter.Entities.Values;
using k8s.Models;

namespace AgentMeter.Entities.Resources;

/// <summary>Price of one model (or one paid MCP server) from a date on. Cluster-scoped.</summary>
[KubernetesEntity(Group = Group, ApiVersion = Version, Kind = KindName, PluralName = Plural)]
public sealed class CostRate : CustomResource<CostRateSpec, CostRateStatus>
{
    public const string KindName = "CostRate";
    public const string Plural = "costrates";
    public CostRate() => Kind = KindName;
}

public sealed class CostRateSpec
{
    /// <summary>Model the rate prices (token pricing). Exactly one of model / serverLabel.</summary>
    [JsonPropertyName("model")] public string? Model { get; set; }
    /// <summary>Paid MCP server the rate prices (per-call pricing via toolCallPrice).</summary>
    [JsonPropertyName("serverLabel")] public string? ServerLabel { get; set; }
    [JsonPropertyName("currency")] public string Currency { get; set; } = "USD";
    [JsonPropertyName("inputPerMillionTokens")] public DecimalString? InputPerMillionTokens { get; set; }
    [JsonPropertyName("outputPerMillionTokens")] public DecimalString? OutputPerMillionTokens { get; set; }
    [JsonPropertyName("cachedInputPerMillionTokens")] public DecimalString? CachedInputPerMillionTokens { get; set; }
    [JsonPropertyName("toolCallPrice")] public DecimalString? ToolCallPrice { get; set; }
    /// <summary>First UTC day (YYYY-MM-DD) the rate applies to.</summary>
    [JsonPropertyName("effectiveFrom")] public string EffectiveFrom { get; set; } = "";
    [JsonPropertyName("tokenEstimation")] public TokenEstimation? TokenEstimation { get; set; }
}

public sealed class TokenEstimation
{
    [JsonPropertyName("bytesPerToken")] public int? BytesPerToken { get; set; }
    [JsonPropertyName("maxOutputTokens")] public long? MaxOutputTokens { get; set; }
}

public sealed class CostRateStatus : ResourceStatus
{
}
