using System.Text.Json.Serialization;

namespace AgentMeter.Operator.Status;

/// <summary><c>GET /api/v1/budgets</c> of the aggregator (docs/budgets.md).</summary>
public sealed class BudgetsResponse
{
    [JsonPropertyName("budgets")] public List<AggregatorBudget> Budgets { get; set; } = [];
}
