using System.Text.Json;
using System.Text.Json.Serialization;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>
/// The facts of one budget notification, stored in the outbox and rendered into each webhook format when sent:
/// a threshold reached (<see cref="Threshold"/>) or the projection reaching the amount (<see cref="ForecastEvent"/>).
/// </summary>
public sealed record BudgetNotification
{
    public const string ThresholdEvent = "threshold";
    public const string ForecastEvent = "forecast";

    public required string EventType { get; init; }
    public required string Namespace { get; init; }
    public required string Budget { get; init; }
    /// <summary>The percentage reached (threshold events).</summary>
    public int? Threshold { get; init; }
    public required string Amount { get; init; }
    public required string Currency { get; init; }
    public required string Spent { get; init; }
    public required string PercentUsed { get; init; }
    public required string Projected { get; init; }
    public string? ProjectedExhaustion { get; init; }
    public required string State { get; init; }
    public required string Period { get; init; }
    public required DateTimeOffset PeriodStart { get; init; }
    public required DateTimeOffset PeriodEnd { get; init; }
    public AlertFilter? Filter { get; init; }
    public required DateTimeOffset EvaluatedAt { get; init; }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    /// <summary>The identity of the budget's period everywhere (PagerDuty dedup key, idempotency keys).</summary>
    public string PeriodIdentity => $"agentmeter/budget/{Namespace}/{Budget}/{PeriodStart.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}";

    public string Summary => EventType == ForecastEvent
        ? $"projected to spend {Projected} {Currency} of {Amount} {Currency} by the end of the {Period}" +
          (ProjectedExhaustion is null ? "" : $", running out on {ProjectedExhaustion}") + $" (spent {Spent}, {PercentUsed} %)"
        : $"spent {Spent} {Currency} of {Amount} {Currency} this {Period}: {PercentUsed} %, past the {Threshold} % threshold (projected {Projected})";
}
