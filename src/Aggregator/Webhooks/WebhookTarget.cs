namespace AgentMeter.Aggregator.Webhooks;

/// <summary>A webhook with its URL and secrets read, ready to send to (the secrets stay in memory only).</summary>
public sealed record WebhookTarget(Uri Url, string Format, string? SigningSecret, string? RoutingKey);

/// <summary>Whether a webhook can be delivered to, as shown in <c>/api/v1/alerts</c> (<c>webhooks[]</c>).</summary>
public sealed record WebhookReadiness(string Name, bool Ready, string Reason, string Message)
{
    public const string ReasonReady = "Ready";
    public const string ReasonSecretMissing = "SecretNotFound";
    public const string ReasonInvalidUrl = "InvalidUrl";
    public const string ReasonTargetRefused = "TargetRefused";
    public const string ReasonUnresolvable = "HostNotResolved";
}
