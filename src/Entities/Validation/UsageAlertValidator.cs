using AgentMeter.Entities.Resources;

namespace AgentMeter.Entities.Validation;

/// <summary>Semantic checks of a UsageAlert, including those a CRD schema cannot express (ratio thresholds ≤ 1).</summary>
public static class UsageAlertValidator
{
    public static IReadOnlyList<string> Severities { get; } = ["info", "warning", "critical"];
    public static IReadOnlyList<string> WebhookFormats { get; } = ["generic", "slack", "pagerduty"];

    public static IReadOnlyList<ValidationProblem> Validate(UsageAlert alert)
    {
        var problems = new ProblemList();
        var spec = alert.Spec;
        problems.RequireOneOf("spec.metric", string.IsNullOrEmpty(spec.Metric) ? null : spec.Metric, AlertMetrics.All.ToList(), required: true);
        if (spec.Threshold is not { } threshold)
            problems.Add("spec.threshold", "is required (a decimal string such as \"100\" or \"0.05\")");
        else if (AlertMetrics.IsRatio(spec.Metric) && threshold.Value > 1)
            problems.Add("spec.threshold", $"{spec.Metric} is a ratio from 0 to 1, got {threshold.Text}");
        problems.RequireDuration("spec.window", spec.Window, required: true);
        problems.RequireDuration("spec.cooldown", spec.Cooldown, required: false);
        problems.RequireOneOf("spec.groupBy", spec.GroupBy, AlertGroupBy.All.ToList(), required: false);
        if (spec.GroupBy is not null && spec.Metric == AlertMetrics.CircuitBreakerOpen && spec.GroupBy != "server")
            problems.Add("spec.groupBy", "circuitBreakerOpen can only be grouped by server");
        if (spec.GroupBy is not null && spec.Metric == AlertMetrics.WebhookFailureRate)
            problems.Add("spec.groupBy", "webhookFailureRate has no groupBy dimension");
        problems.RequireOneOf("spec.severity", spec.Severity, Severities.ToList(), required: true);
        problems.RequireDuration("spec.prometheusRule.for", spec.PrometheusRule?.For, required: false);
        ValidateWebhooks(spec.Webhooks ?? [], problems);
        return problems;
    }

    private static void ValidateWebhooks(IList<AlertWebhook> webhooks, ProblemList problems)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < webhooks.Count; i++)
        {
            var hook = webhooks[i];
            var path = $"spec.webhooks[{i}]";
            if (string.IsNullOrEmpty(hook.Name)) problems.Add($"{path}.name", "is required");
            else if (!names.Add(hook.Name)) problems.Add($"{path}.name", $"\"{hook.Name}\" is used by another webhook of this alert");
            if ((hook.Url is null) == (hook.UrlSecretRef is null))
                problems.Add(path, "set exactly one of url or urlSecretRef");
            if (hook.Url is not null &&
                (!Uri.TryCreate(hook.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
                problems.Add($"{path}.url", "is not an absolute http(s) URL");
            problems.RequireOneOf($"{path}.format", hook.Format, WebhookFormats.ToList(), required: true);
            if (hook.Format == "pagerduty" && hook.RoutingKeySecretRef is null)
                problems.Add($"{path}.routingKeySecretRef", "is required for pagerduty webhooks");
            if (hook.Format != "pagerduty" && hook.RoutingKeySecretRef is not null)
                problems.Add($"{path}.routingKeySecretRef", "is only for pagerduty webhooks");
            ValidateSecretRef($"{path}.urlSecretRef", hook.UrlSecretRef, problems);
            ValidateSecretRef($"{path}.signingSecretRef", hook.SigningSecretRef, problems);
            ValidateSecretRef($"{path}.routingKeySecretRef", hook.RoutingKeySecretRef, problems);
        }
    }

    private static void ValidateSecretRef(string path, SecretKeyRef? reference, ProblemList problems)
    {
        if (reference is null) return;
        if (string.IsNullOrEmpty(reference.Name)) problems.Add($"{path}.name", "is required");
        if (string.IsNullOrEmpty(reference.Key)) problems.Add($"{path}.key", "is required");
        else if (!reference.Key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            problems.Add($"{path}.key", $"\"{reference.Key}\" is not a valid Secret key");
    }
}
