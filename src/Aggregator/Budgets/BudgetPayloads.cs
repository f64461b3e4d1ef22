using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Webhooks;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>Budget notifications in the outbox: their webhooks as currently defined and their bodies in the three formats (docs/budgets.md).</summary>
public sealed class BudgetPayloads(ResourceStore store) : INotificationSource
{
    public string Kind => Budget.KindName;

    public AlertWebhook? FindWebhook(string ns, string name, string webhook) =>
        store.Current.Budgets.FirstOrDefault(b => ResourceNamespace.Of(b.Metadata) == ns && b.Metadata.Name == name)
            ?.Spec.Webhooks?.FirstOrDefault(h => h.Name == webhook);

    public string Render(string format, OutboxItem item, string? routingKey)
    {
        var n = JsonSerializer.Deserialize<BudgetNotification>(item.Payload, BudgetNotification.Json)!;
        return format switch
        {
            WebhookFormats.Slack => Slack(n),
            WebhookFormats.PagerDuty => PagerDuty(n, routingKey ?? ""),
            _ => Generic(n, item.IdempotencyKey),
        };
    }

    /// <summary><c>generic</c>: the notification facts, versioned, with the idempotency key.</summary>
    public static string Generic(BudgetNotification n, string idempotencyKey)
    {
        var body = JsonSerializer.SerializeToNode(n, BudgetNotification.Json)!.AsObject();
        body.Insert(0, "version", "agentmeter.io/v1alpha1");
        body.Insert(1, "kind", Budget.KindName);
        body.Insert(2, "idempotencyKey", idempotencyKey);
        return body.ToJsonString();
    }

    /// <summary><c>slack</c>: an incoming-webhook message with a plain-text fallback.</summary>
    public static string Slack(BudgetNotification n)
    {
        var title = $"{(n.EventType == BudgetNotification.ForecastEvent ? ":crystal_ball: Budget forecast" : ":money_with_wings: Budget")}: {n.Namespace}/{n.Budget}";
        return new JsonObject
        {
            ["text"] = $"{title} — {n.Summary}",
            ["blocks"] = new JsonArray
            {
                new JsonObject { ["type"] = "header", ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = title.Length > 150 ? title[..149] + "…" : title } },
                new JsonObject { ["type"] = "section", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = n.Summary } },
                new JsonObject
                {
                    ["type"] = "context",
                    ["elements"] = new JsonArray { new JsonObject { ["type"] = "mrkdwn", ["text"] = $"AgentMeter Budget `{n.PeriodIdentity}`" } },
                },
            },
        }.ToJsonString();
    }

    /// <summary><c>pagerduty</c>: Events API v2 trigger, deduplicated per budget and period.</summary>
    public static string PagerDuty(BudgetNotification n, string routingKey) => new JsonObject
    {
        ["routing_key"] = routingKey,
        ["event_action"] = "trigger",
        ["dedup_key"] = n.PeriodIdentity,
        ["payload"] = new JsonObject
        {
            ["summary"] = $"{n.Namespace}/{n.Budget}: {n.Summary}",
            ["source"] = "agentmeter",
            ["severity"] = n.State == BudgetStates.Exceeded ? "critical" : "warning",
            ["timestamp"] = n.EvaluatedAt,
            ["group"] = n.Namespace,
            ["class"] = "budget",
            ["custom_details"] = new JsonObject
            {
                ["amount"] = n.Amount, ["currency"] = n.Currency, ["spent"] = n.Spent, ["percentUsed"] = n.PercentUsed,
                ["projected"] = n.Projected, ["threshold"] = n.Threshold, ["period"] = n.Period,
            },
        },
    }.ToJsonString();
}
