namespace AgentMeter.Entities.Resources;

/// <summary>The values of a UsageAlert webhook's <c>format</c>: the request body the aggregator sends.</summary>
public static class WebhookFormats
{
    public const string Generic = "generic";
    public const string Slack = "slack";
    /// <summary>PagerDuty Events API v2: needs a routing key, and a PagerDuty host.</summary>
    public const string PagerDuty = "pagerduty";
    public static readonly IReadOnlyList<string> All = [Generic, Slack, PagerDuty];
}
