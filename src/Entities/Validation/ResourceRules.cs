namespace AgentMeter.Entities.Validation;

/// <summary>Settings of the running process that resource validation depends on (the same in the operator and the aggregator).</summary>
public sealed record ResourceRules(IReadOnlyList<string> PagerDutyHosts)
{
    /// <summary>Only the PagerDuty Events API hosts.</summary>
    public static ResourceRules Default { get; } = new([]);
}
