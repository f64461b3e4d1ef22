using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>Request bodies of the three webhook formats (examples in docs/alerts.md).</summary>
public static class WebhookPayloads
{
    public static string Render(string format, AlertNotification n, string idempotencyKey, string? routingKey) => format switch
    {
        WebhookFormats.Slack => Slack(n),
        WebhookFormats.PagerDuty => PagerDuty(n, routingKey ?? ""),
        _ => Generic(n, idempotencyKey),
    };

    /// <summary><c>generic</c>: the notification facts, versioned, with the idempotency key.</summary>
    public static string Generic(AlertNotification n, string idempotencyKey) => new JsonObject
    {
        ["version"] = "agentmeter.io/v1alpha1",
        ["idempotencyKey"] = idempotencyKey,
        ["eventType"] = n.EventType,
        ["alert"] = new JsonObject
        {
            ["namespace"] = n.Namespace,
            ["name"] = n.Alert,
            ["metric"] = n.Metric,
            ["threshold"] = n.Threshold,
            ["window"] = n.Window,
            ["severity"] = n.Severity,
            ["groupBy"] = n.GroupBy,
            ["filter"] = JsonSerializer.SerializeToNode(n.Filter, AlertNotification.Json),
        },
        ["group"] = n.Group,
        ["value"] = n.Value,
        ["firedAt"] = n.FiredAt,
        ["resolvedAt"] = n.ResolvedAt,
        ["evaluatedAt"] = n.EvaluatedAt,
    }.ToJsonString();

    /// <summary><c>slack</c>: an incoming-webhook message with Block Kit blocks and a plain-text fallback.</summary>
    public static string Slack(AlertNotification n)
    {
        var firing = n.EventType == AlertNotification.Firing;
        var title = $"{(firing ? ":rotating_light: Firing" : ":white_check_mark: Resolved")}: {n.Namespace}/{n.Alert}" +
                    (n.Group.Length > 0 ? $" ({n.GroupBy} {n.Group})" : "");
        var summary = Summary(n);
        return new JsonObject
        {
            ["text"] = $"{title} — {summary}",
            ["blocks"] = new JsonArray
            {
                new JsonObject { ["type"] = "header", ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = Truncate(title, 150), ["emoji"] = true } },
                new JsonObject { ["type"] = "section", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = summary } },
                new JsonObject
                {
                    ["type"] = "section",
                    ["fields"] = new JsonArray
                    {
                        Field("Metric", n.Metric), Field("Value", n.Value ?? "no data"),
                        Field("Threshold", n.Threshold), Field("Window", n.Window),
                        Field("Severity", n.Severity), Field(firing ? "Fired at" : "Resolved at", ((firing ? n.FiredAt : n.ResolvedAt) ?? n.EvaluatedAt).ToString("u")),
                    },
                },
                new JsonObject
                {
                    ["type"] = "context",
                    ["elements"] = new JsonArray { new JsonObject { ["type"] = "mrkdwn", ["text"] = $"AgentMeter UsageAlert `{n.GroupIdentity}`" } },
                },
            },
        }.ToJsonString();
    }

    /// <summary><c>pagerduty</c>: Events API v2 — trigger on firing, resolve on resolved, dedup_key = the alert group.</summary>
    public static string PagerDuty(AlertNotification n, string routingKey)
    {
        var body = new JsonObject
        {
            ["routing_key"] = routingKey,
            ["event_action"] = n.EventType == AlertNotification.Firing ? "trigger" : "resolve",
            ["dedup_key"] = n.GroupIdentity,
        };
        if (n.EventType == AlertNotification.Firing)
        {
            body["payload"] = new JsonObject
            {
                ["summary"] = Truncate($"{n.Namespace}/{n.Alert}: {Summary(n)}", 1024),
                ["source"] = "agentmeter",
                ["severity"] = n.Severity is "critical" or "warning" or "info" ? n.Severity : "error",
                ["timestamp"] = n.FiredAt,
                ["component"] = n.Group.Length > 0 ? n.Group : null,
                ["group"] = n.Namespace,
                ["class"] = n.Metric,
                ["custom_details"] = new JsonObject
                {
                    ["metric"] = n.Metric, ["value"] = n.Value, ["threshold"] = n.Threshold, ["window"] = n.Window,
                    ["groupBy"] = n.GroupBy, ["group"] = n.Group,
                },
            };
        }
        return body.ToJsonString();
    }

    private static string Summary(AlertNotification n) =>
        $"{n.Metric} is {n.Value ?? "no data"} over {n.Window} (threshold {n.Threshold})" +
        (n.EventType == AlertNotification.Firing ? "" : ", back under the threshold");

    private static JsonObject Field(string name, string value) => new() { ["type"] = "mrkdwn", ["text"] = $"*{name}*\n{value}" };

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
