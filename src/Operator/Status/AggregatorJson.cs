using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentMeter.Operator.Status;

/// <summary><c>GET /api/v1/alerts</c> of the aggregator (docs/contracts.md).</summary>
public sealed class AlertsResponse
{
    [JsonPropertyName("alerts")] public List<AggregatorAlert> Alerts { get; set; } = [];
}

public sealed class AggregatorAlert
{
    [JsonPropertyName("namespace")] public string Namespace { get; set; } = "";
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("state")] public string State { get; set; } = "Unknown";
    [JsonPropertyName("currentValue")] public string? CurrentValue { get; set; }
    [JsonPropertyName("lastEvaluationTime")] public DateTime? LastEvaluationTime { get; set; }
    [JsonPropertyName("lastFiredTime")] public DateTime? LastFiredTime { get; set; }
    [JsonPropertyName("firingGroups")] public List<string>? FiringGroups { get; set; }
    [JsonPropertyName("error")] public string? Error { get; set; }
}

/// <summary><c>GET /api/v1/retention</c> of the aggregator.</summary>
public sealed class RetentionResponse
{
    [JsonPropertyName("lastRun")] public AggregatorRetentionRun? LastRun { get; set; }
    [JsonPropertyName("nextRunTime")] public DateTime? NextRunTime { get; set; }
}

public sealed class AggregatorRetentionRun
{
    [JsonPropertyName("startedAt")] public DateTime? StartedAt { get; set; }
    [JsonPropertyName("finishedAt")] public DateTime? FinishedAt { get; set; }
    [JsonPropertyName("result")] public string? Result { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
}

/// <summary>The aggregator's responses without reflection (the operator is compiled ahead of time); web defaults as before.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AlertsResponse))]
[JsonSerializable(typeof(RetentionResponse))]
[JsonSerializable(typeof(BudgetsResponse))]
internal sealed partial class AggregatorJson : JsonSerializerContext;
