using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// A kind of resource other than UsageAlert whose notifications go through the outbox (a Budget): it finds the
/// webhook as currently defined and renders the body in the webhook's format. Registered in DI; the sender picks
/// the one whose <see cref="Kind"/> is the outbox row's <c>resource_kind</c>.
/// </summary>
public interface INotificationSource
{
    string Kind { get; }

    /// <summary>The webhook of that resource, or null when the resource or the webhook is no longer defined.</summary>
    AlertWebhook? FindWebhook(string ns, string name, string webhook);

    /// <summary>The request body of <paramref name="item"/> in <paramref name="format"/> (generic, slack, pagerduty).</summary>
    string Render(string format, OutboxItem item, string? routingKey);
}
