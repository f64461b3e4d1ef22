using System.Text.Json.Serialization;

namespace AgentMeter.Operator.Status;

/// <summary>One budget's evaluation as the aggregator reports it; the operator copies it into the Budget's status.</summary>
public sealed class AggregatorBudget
{
    [JsonPropertyName("namespace")] public string Namespace { get; set; } = "";
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("spent")] public string? Spent { get; set; }
    [JsonPropertyName("remaining")] public string? Remaining { get; set; }
    [JsonPropertyName("percentUsed")] public string? PercentUsed { get; set; }
    [JsonPropertyName("projected")] public string? Projected { get; set; }
    [JsonPropertyName("projectedExhaustion")] public string? ProjectedExhaustion { get; set; }
    [JsonPropertyName("state")] public string? State { get; set; }
    [JsonPropertyName("periodStart")] public DateTime? PeriodStart { get; set; }
    [JsonPropertyName("periodEnd")] public DateTime? PeriodEnd { get; set; }
    [JsonPropertyName("lastNotifiedThreshold")] public int? LastNotifiedThreshold { get; set; }
    [JsonPropertyName("lastEvaluationTime")] public DateTime? LastEvaluationTime { get; set; }
    [JsonPropertyName("error")] public string? Error { get; set; }

    /// <summary>Whether the status the operator writes from it would differ.</summary>
    public bool SameAs(AggregatorBudget other) =>
        (Spent, Remaining, PercentUsed, Projected, ProjectedExhaustion, State, PeriodStart, PeriodEnd, LastNotifiedThreshold, Error) ==
        (other.Spent, other.Remaining, other.PercentUsed, other.Projected, other.ProjectedExhaustion, other.State, other.PeriodStart,
            other.PeriodEnd, other.LastNotifiedThreshold, other.Error);
}
