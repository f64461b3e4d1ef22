using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;

namespace AgentMeter.Aggregator.Resources;

/// <summary>An immutable snapshot of the resources in force.</summary>
public sealed record ResourceSet(
    IReadOnlyList<CostRate> CostRates,
    IReadOnlyList<UsageAlert> UsageAlerts,
    IReadOnlyList<RetentionPolicy> RetentionPolicies,
    IReadOnlyList<ResourceProblem> Problems,
    DateTimeOffset LoadedAt)
{
    public static readonly ResourceSet Empty = new([], [], [], [], DateTimeOffset.MinValue);

    public IReadOnlyList<Budget> Budgets { get; init; } = [];

    /// <summary>The RetentionPolicy named <c>default</c>, else the defaults of the design.</summary>
    public RetentionPolicy Retention =>
        RetentionPolicies.FirstOrDefault(r => r.Metadata.Name == RetentionPolicy.DefaultName)
        ?? new RetentionPolicy { Metadata = new() { Name = RetentionPolicy.DefaultName } };
}
