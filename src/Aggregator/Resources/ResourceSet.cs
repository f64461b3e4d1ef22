using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Resources;

/// <summary>What a document could not be loaded for: where it is and which field is wrong.</summary>
public sealed record ResourceProblem(string File, int Document, string? Kind, string? Namespace, string? Name, string Field, string Problem)
{
    public override string ToString() =>
        $"{File} document {Document} ({Kind ?? "?"} {(Namespace is null ? "" : Namespace + "/")}{Name ?? "?"}): {Field}: {Problem}";
}

/// <summary>An immutable snapshot of the resources in force.</summary>
public sealed record ResourceSet(
    IReadOnlyList<CostRate> CostRates,
    IReadOnlyList<UsageAlert> UsageAlerts,
    IReadOnlyList<RetentionPolicy> RetentionPolicies,
    IReadOnlyList<ResourceProblem> Problems,
    DateTimeOffset LoadedAt)
{
    public static readonly ResourceSet Empty = new([], [], [], [], DateTimeOffset.MinValue);

    /// <summary>The RetentionPolicy named <c>default</c>, else the defaults of the design.</summary>
    public RetentionPolicy Retention =>
        RetentionPolicies.FirstOrDefault(r => r.Metadata.Name == RetentionPolicy.DefaultName)
        ?? new RetentionPolicy { Metadata = new() { Name = RetentionPolicy.DefaultName } };
}
