namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// A way an outbox row leaves: a webhook POST (<see cref="WebhookSender"/>) or a mail. The dispatcher runs every row
/// through the same retries, backoff and dead-lettering and picks the channel whose <see cref="Name"/> is the row's
/// <c>channel</c>.
/// </summary>
public interface INotificationChannel
{
    public const string Webhook = "webhook";
    public const string Email = "email";

    string Name { get; }

    /// <summary>One attempt. Never throws for a failed delivery; only cancellation escapes.</summary>
    Task<DeliveryResult> SendAsync(OutboxItem item, CancellationToken ct);
}
