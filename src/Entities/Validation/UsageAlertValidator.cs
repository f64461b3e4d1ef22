using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Entities.Validation;

/// <summary>Semantic checks of a UsageAlert, including those a CRD schema cannot express (ratio thresholds ≤ 1).</summary>
public static class UsageAlertValidator
{
    public static readonly IReadOnlyList<string> Severities = ["info", "warning", "critical"];

    public static IReadOnlyList<FieldProblem> Validate(UsageAlert alert, ResourceRules? rules = null)
    {
        rules ??= ResourceRules.Default;
        var p = new ProblemList();
        var s = alert.Spec;
        p.Require(alert.Metadata?.Name, "metadata.name");
        if (!AlertMetrics.All.Contains(s.Metric))
            p.Add("spec.metric", $"\"{s.Metric}\" is not one of {string.Join(", ", AlertMetrics.All)}");
        if (s.Threshold is null)
            p.Add("spec.threshold", "is required (a decimal string such as \"100\" or \"0.05\")");
        else if (AlertMetrics.IsRatio(s.Metric) && s.Threshold.Value.Value > 1)
            p.Add("spec.threshold", $"{s.Metric} is a ratio from 0 to 1, got {s.Threshold.Value.Text}");
        p.Duration(s.Window, "spec.window", required: true);
        p.Duration(s.Cooldown, "spec.cooldown", required: false);
        p.Duration(s.PrometheusRule?.For, "spec.prometheusRule.for", required: false);
        if (s.GroupBy is not null && Dimension.Find(s.GroupBy) is null)
            p.Add("spec.groupBy", $"\"{s.GroupBy}\" is not one of {string.Join(", ", Dimension.All)}");
        else if (s.GroupBy is not null && s.Metric == AlertMetrics.CircuitBreakerOpen && s.GroupBy != Dimension.Server.Name)
            p.Add("spec.groupBy", "circuitBreakerOpen can only be grouped by server");
        else if (s.GroupBy is not null && s.Metric == AlertMetrics.WebhookFailureRate)
            p.Add("spec.groupBy", "webhookFailureRate has no groupBy dimension");
        FilterValues.Check(p, s.Filter);
        if (!Severities.Contains(s.Severity))
            p.Add("spec.severity", $"\"{s.Severity}\" is not one of {string.Join(", ", Severities)}");

        Webhooks(p, s.Webhooks, rules);
        EmailAddresses.Check(p, s.Email);
        return p.Items;
    }

    /// <summary>Checks a <c>webhooks</c> list (UsageAlert and Budget share its shape).</summary>
    public static void Webhooks(ProblemList p, IList<AlertWebhook>? hooks, ResourceRules rules)
    {
        var names = new HashSet<string>();
        for (var i = 0; i < (hooks?.Count ?? 0); i++)
        {
            var w = hooks![i];
            var at = $"spec.webhooks[{i}]";
            if (string.IsNullOrWhiteSpace(w.Name)) p.Add($"{at}.name", "is required");
            else if (!names.Add(w.Name)) p.Add($"{at}.name", $"\"{w.Name}\" is used by another webhook of this resource");
            if ((w.Url is null) == (w.UrlSecretRef is null))
                p.Add($"{at}.url", "set exactly one of url or urlSecretRef");
            Uri? u = null;
            if (w.Url is not null && !(Uri.TryCreate(w.Url, UriKind.Absolute, out u) && u.Scheme is "https" or "http"))
                p.Add($"{at}.url", "is not an absolute http(s) URL");
            else if (w.Format == WebhookFormats.PagerDuty && u is not null && !PagerDutyHosts.Allows(u, rules.PagerDutyHosts))
                p.Add($"{at}.url", PagerDutyHosts.Refusal(u, rules.PagerDutyHosts));
            if (!WebhookFormats.All.Contains(w.Format))
                p.Add($"{at}.format", $"\"{w.Format}\" is not one of {string.Join(", ", WebhookFormats.All)}");
            if (w.Format == WebhookFormats.PagerDuty && w.RoutingKeySecretRef is null)
                p.Add($"{at}.routingKeySecretRef", "is required for format pagerduty");
            if (w.Format != WebhookFormats.PagerDuty && w.RoutingKeySecretRef is not null)
                p.Add($"{at}.routingKeySecretRef", "is only for format pagerduty");
            SecretRef(p, w.UrlSecretRef, $"{at}.urlSecretRef");
            SecretRef(p, w.SigningSecretRef, $"{at}.signingSecretRef");
            SecretRef(p, w.RoutingKeySecretRef, $"{at}.routingKeySecretRef");
        }
    }

    private static void SecretRef(ProblemList p, SecretKeyRef? r, string at)
    {
        if (r is null) return;
        p.Require(r.Name, $"{at}.name");
        p.Require(r.Key, $"{at}.key");
        if (!string.IsNullOrEmpty(r.Key) && !r.Key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            p.Add($"{at}.key", $"\"{r.Key}\" is not a valid Secret key");
    }
}
