using System.Globalization;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using k8s.Models;

namespace AgentMeter.Operator.Rendering;

/// <summary>One PrometheusRule per UsageAlert (<c>agentmeter-&lt;name&gt;</c> in its namespace, owned by it).</summary>
public static class PrometheusRules
{
    public static string RuleName(UsageAlert alert) => $"agentmeter-{alert.Metadata.Name}";

    /// <summary>The rule, or null with the reason when the alert has none (disabled or not expressible in PromQL).</summary>
    public static (DesiredObject? Rule, AlertExpression Expression) For(UsageAlert alert, MonitoringOptions monitoring)
    {
        if (alert.Spec.PrometheusRule?.Enabled == false)
            return (null, AlertExpression.NotExpressible("Disabled", "spec.prometheusRule.enabled is false"));
        var expression = AlertExpressions.For(alert.Spec);
        if (expression.Expr is null) return (null, expression);

        var ns = alert.Metadata.NamespaceProperty;
        var name = alert.Metadata.Name;
        var spec = alert.Spec;
        var groupText = string.Concat(expression.GroupLabels.Select(l => $" for {l}={{{{ $labels.{l} }}}}"));
        var rule = new JsonObject
        {
            ["alert"] = AlertName(name),
            ["expr"] = expression.Expr,
        };
        if (spec.PrometheusRule?.For is { } forDuration) rule["for"] = forDuration;
        rule["labels"] = new JsonObject
        {
            ["severity"] = spec.Severity,
            ["usagealert"] = name,
            ["usagealert_namespace"] = ns,
            ["metric"] = spec.Metric,
        };
        rule["annotations"] = new JsonObject
        {
            ["summary"] = $"{spec.Metric} above {spec.Threshold} over {spec.Window}{groupText}",
            ["description"] = $"UsageAlert {ns}/{name}: {spec.Metric} is {{{{ $value }}}} over the last {spec.Window}{groupText}, above the threshold {spec.Threshold}.",
        };
        var metadata = new V1ObjectMeta { Name = RuleName(alert), NamespaceProperty = ns, Labels = Labels.Common(monitoring.RuleLabels) };
        // Offline renders of files without a uid cannot name an owner; run always has one.
        if (!string.IsNullOrEmpty(alert.Metadata.Uid))
            metadata.OwnerReferences =
            [
                new V1OwnerReference
                {
                    ApiVersion = CostRate.GroupVersion, Kind = UsageAlert.KindName, Name = name, Uid = alert.Metadata.Uid,
                    BlockOwnerDeletion = true, Controller = true,
                },
            ];
        var body = new JsonObject
        {
            ["apiVersion"] = ObjectKind.PrometheusRule.ApiVersion,
            ["kind"] = ObjectKind.PrometheusRule.Kind,
            ["metadata"] = ResourceDocuments.ToJson(metadata),
            ["spec"] = new JsonObject
            {
                ["groups"] = new JsonArray(new JsonObject
                {
                    ["name"] = $"agentmeter.{ns}.{name}",
                    ["rules"] = new JsonArray(rule),
                }),
            },
        };
        return (new DesiredObject(ObjectKind.PrometheusRule, ns, RuleName(alert), body), expression);
    }

    /// <summary><c>daily-cost</c> → <c>AgentMeterDailyCost</c>, the CamelCase Prometheus alert names use.</summary>
    public static string AlertName(string name) =>
        "AgentMeter" + string.Concat(name.Split('-', '.').Where(p => p.Length > 0)
            .Select(p => char.ToUpper(p[0], CultureInfo.InvariantCulture) + p[1..]));
}
