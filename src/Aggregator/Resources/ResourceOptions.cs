namespace AgentMeter.Aggregator.Resources;

public sealed class ResourceOptions
{
    /// <summary>Files or folders given with --resources (repeatable).</summary>
    public List<string> Paths { get; set; } = [];
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Process settings validation depends on (the PagerDuty hosts of <c>Webhooks__PagerDutyHosts</c>).</summary>
    public Entities.Validation.ResourceRules Rules { get; set; } = Entities.Validation.ResourceRules.Default;
}
