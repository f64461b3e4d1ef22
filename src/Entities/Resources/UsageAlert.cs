using System.Text.Json.Serialization;
using AgentMeter.Entities.Values;
using k8s.Models;

namespace AgentMeter.Entities.Resources;

/// <summary>A threshold on a usage metric over a rolling window, delivered by webhook and mail. Namespaced.</summary>
[KubernetesEntity(Group = Group, ApiVersion = Version, Kind = KindName, PluralName = Plural)]
public sealed class UsageAlert : CustomResource<UsageAlertSpec, UsageAlertStatus>
{
    public const string KindName = "UsageAlert";
    public const string Plural = "usagealerts";
    public UsageAlert() => Kind = KindName;
}

public static class AlertMetrics
{
    public const string Tokens = "tokens";
    public const string Cost = "cost";
    public const string CallCount = "callCount";
    public const string ErrorRate = "errorRate";
    public const string P95LatencyMs = "p95LatencyMs";
    public const string CircuitBreakerOpen = "circuitBreakerOpen";
    public const string WebhookFailureRate = "webhookFailureRate";
    public static readonly IReadOnlyList<string> All =
        [Tokens, Cost, CallCount, ErrorRate, P95LatencyMs, CircuitBreakerOpen, WebhookFailureRate];

    /// <summary>Metrics whose value is a ratio from 0 to 1.</summary>
    public static bool IsRatio(string metric) => metric is ErrorRate or WebhookFailureRate;
}

public sealed class UsageAlertSpec
{
    [JsonPropertyName("metric")] public string Metric { get; set; } = "";
    [JsonPropertyName("threshold")] public DecimalString? Threshold { get; set; }
    [JsonPropertyName("window")] public string Window { get; set; } = "1h";
    [JsonPropertyName("filter")] public AlertFilter? Filter { get; set; }
    /// <summary>Optional dimension (agent, tenant, user, tool, server, model): one firing per group.</summary>
    [JsonPropertyName("groupBy")] public string? GroupBy { get; set; }
    [JsonPropertyName("severity")] public string Severity { get; set; } = "warning";
    [JsonPropertyName("cooldown")] public string? Cooldown { get; set; }
    [JsonPropertyName("webhooks")] public IList<AlertWebhook>? Webhooks { get; set; }
    [JsonPropertyName("email")] public EmailRecipients? Email { get; set; }
    [JsonPropertyName("prometheusRule")] public PrometheusRuleOptions? PrometheusRule { get; set; }
}

public sealed class AlertFilter
{
    [JsonPropertyName("tenantId")] public string? TenantId { get; set; }
    [JsonPropertyName("agentId")] public string? AgentId { get; set; }
    [JsonPropertyName("userId")] public string? UserId { get; set; }
    [JsonPropertyName("toolName")] public string? ToolName { get; set; }
    [JsonPropertyName("serverLabel")] public string? ServerLabel { get; set; }
    [JsonPropertyName("model")] public string? Model { get; set; }
}

public sealed class AlertWebhook
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    /// <summary>Target URL in clear. Exactly one of url / urlSecretRef.</summary>
    [JsonPropertyName("url")] public string? Url { get; set; }
    [JsonPropertyName("urlSecretRef")] public SecretKeyRef? UrlSecretRef { get; set; }
    /// <summary>generic | slack | pagerduty.</summary>
    [JsonPropertyName("format")] public string Format { get; set; } = WebhookFormats.Generic;
    [JsonPropertyName("signingSecretRef")] public SecretKeyRef? SigningSecretRef { get; set; }
    [JsonPropertyName("routingKeySecretRef")] public SecretKeyRef? RoutingKeySecretRef { get; set; }
}

public sealed class PrometheusRuleOptions
{
    [JsonPropertyName("enabled")] public bool? Enabled { get; set; }
    /// <summary>How long the condition must hold before Prometheus fires (rule <c>for</c>).</summary>
    [JsonPropertyName("for")] public string? For { get; set; }
}

public sealed class UsageAlertStatus : ResourceStatus
{
    /// <summary>Ok | Firing | Unknown.</summary>
    [JsonPropertyName("state")] public string? State { get; set; }
    [JsonPropertyName("currentValue")] public string? CurrentValue { get; set; }
    [JsonPropertyName("lastEvaluationTime")] public DateTime? LastEvaluationTime { get; set; }
    [JsonPropertyName("lastFiredTime")] public DateTime? LastFiredTime { get; set; }
    [JsonPropertyName("firingGroups")] public IList<string>? FiringGroups { get; set; }
}
