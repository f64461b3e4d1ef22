using System.Text.Json;
using System.Text.Json.Serialization;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// The facts of one firing or resolve, stored in the outbox and rendered into each format when sent.
/// Its JSON (camelCase) is also the body of the <c>generic</c> format, with the idempotency key added.
/// </summary>
public sealed record AlertNotification
{
    public const string Firing = "firing";
    public const string Resolved = "resolved";

    public required string EventType { get; init; }
    public required string Namespace { get; init; }
    public required string Alert { get; init; }
    /// <summary>The groupBy value, "" for an alert without groupBy.</summary>
    public required string Group { get; init; }
    public string? GroupBy { get; init; }
    public required string Metric { get; init; }
    public required string Threshold { get; init; }
    public required string Window { get; init; }
    public required string Severity { get; init; }
    public string? Value { get; init; }
    public AlertFilter? Filter { get; init; }
    public required DateTimeOffset FiredAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    public required DateTimeOffset EvaluatedAt { get; init; }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>PagerDuty dedup key and the identity of the alert group everywhere.</summary>
    public string GroupIdentity => $"agentmeter/{Namespace}/{Alert}" + (Group.Length > 0 ? $"/{Group}" : "");
}
