using AgentMeter.Testing.Upstream;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Values;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Operator.Tests.Rules;

/// <summary>
/// Generated rules against the real promtool: each passes <c>check rules</c>, and <c>test rules</c> with synthetic
/// series proves each alert kind fires above its threshold and stays quiet below it. Generated PrometheusRule and
/// ServiceMonitor objects validate against prometheus-operator's own CRD schemas (tests/upstream-schemas).
/// </summary>
public class PrometheusRuleTests
{
    public sealed record Case(string Metric, string Threshold, string? GroupBy, AlertFilter? Filter, string? For,
        string[] Above, string[] Below, Dictionary<string, string> OutputLabels);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["tokens"] = new("tokens", "1000", "agent", new AlertFilter { Model = "gpt-4o" }, null,
            ["registry_estimated_token_usage_total{model=\"gpt-4o\",agent_id=\"planner\"} 0+50x120", "registry_estimated_token_usage_total{model=\"other\",agent_id=\"planner\"} 0+500x120"],
            ["registry_estimated_token_usage_total{model=\"gpt-4o\",agent_id=\"planner\"} 0+5x120", "registry_estimated_token_usage_total{model=\"other\",agent_id=\"planner\"} 0+500x120"],
            new() { ["agent_id"] = "planner" }),
        ["callCount"] = new("callCount", "500", "tool", null, null,
            ["registry_tool_calls_total{tool=\"search\",server=\"web\",status=\"success\"} 0+10x120", "registry_tool_calls_total{tool=\"search\",server=\"web\",status=\"failure\"} 0+1x120"],
            ["registry_tool_calls_total{tool=\"search\",server=\"web\",status=\"success\"} 0+2x120", "registry_tool_calls_total{tool=\"search\",server=\"web\",status=\"failure\"} 0+1x120"],
            new() { ["tool"] = "search" }),
        ["errorRate"] = new("errorRate", "0.1", null, new AlertFilter { ToolName = "search" }, "5m",
            ["registry_tool_calls_total{tool=\"search\",server=\"web\",status=\"success\"} 0+9x120", "registry_tool_calls_total{tool=\"search\",server=\"web\",status=\"failure\"} 0+3x120", "registry_tool_calls_total{tool=\"fetch\",server=\"web\",status=\"success\"} 0+100x120"],
            ["registry_tool_calls_total{tool=\"search\",server=\"web\",status=\"success\"} 0+99x120", "registry_tool_calls_total{tool=\"search\",server=\"web\",status=\"failure\"} 0+1x120", "registry_tool_calls_total{tool=\"fetch\",server=\"web\",status=\"failure\"} 0+100x120"],
            []),
        ["p95LatencyMs"] = new("p95LatencyMs", "500", "server", null, null,
            ["registry_tool_call_duration_seconds_bucket{tool=\"search\",server=\"web\",le=\"0.1\"} 0+1x120", "registry_tool_call_duration_seconds_bucket{tool=\"search\",server=\"web\",le=\"1\"} 0+10x120", "registry_tool_call_duration_seconds_bucket{tool=\"search\",server=\"web\",le=\"+Inf\"} 0+10x120"],
            ["registry_tool_call_duration_seconds_bucket{tool=\"search\",server=\"web\",le=\"0.1\"} 0+10x120", "registry_tool_call_duration_seconds_bucket{tool=\"search\",server=\"web\",le=\"1\"} 0+10x120", "registry_tool_call_duration_seconds_bucket{tool=\"search\",server=\"web\",le=\"+Inf\"} 0+10x120"],
            new() { ["server"] = "web" }),
        ["circuitBreakerOpen"] = new("circuitBreakerOpen", "0", "server", null, null,
            ["registry_circuit_breaker_state{server=\"github\"} 0x60 1x10 0x50"],
            ["registry_circuit_breaker_state{server=\"github\"} 0x60 2x10 0x50"],
            new() { ["server"] = "github" }),
        ["webhookFailureRate"] = new("webhookFailureRate", "0.2", null, null, null,
            ["registry_webhook_deliveries_total{status=\"success\",event_type=\"alert\"} 0+6x120", "registry_webhook_deliveries_total{status=\"failure\",event_type=\"alert\"} 0+4x120"],
            ["registry_webhook_deliveries_total{status=\"success\",event_type=\"alert\"} 0+19x120", "registry_webhook_deliveries_total{status=\"failure\",event_type=\"alert\"} 0+1x120"],
            []),
    };

    public static TheoryData<string> Metrics => new(Cases.Keys);

    private static UsageAlert Alert(Case c)
    {
        var alert = new UsageAlert { Metadata = new() { Name = $"{c.Metric.ToLowerInvariant()}-alert", NamespaceProperty = "team-a", Uid = "5f1c0d1e-0000-4000-8000-000000000001" } };
        alert.Spec.Metric = c.Metric;
        alert.Spec.Threshold = DecimalString.TryParse(c.Threshold, out var t) ? t : throw new ArgumentException(c.Threshold);
        alert.Spec.Window = "1h";
        alert.Spec.GroupBy = c.GroupBy;
        alert.Spec.Filter = c.Filter;
        alert.Spec.Severity = "critical";
        alert.Spec.PrometheusRule = new PrometheusRuleOptions { For = c.For };
        return alert;
    }

    private static readonly MonitoringOptions Monitoring = new() { RuleLabels = new() { ["release"] = "kube-prometheus-stack" } };

    [Theory]
    [MemberData(nameof(Metrics))]
    public void RuleFiresAboveThresholdAndStaysQuietBelow(string metric)
    {
        var c = Cases[metric];
        var alert = Alert(c);
        var (rule, expression) = PrometheusRules.For(alert, Monitoring);
        Assert.True(rule is not null, expression.Message);
        var dir = Directory.CreateTempSubdirectory("agentmeter-promtool-").FullName;
        try
        {
            // check rules: the full rule, annotations (templates) included.
            File.WriteAllText(Path.Combine(dir, "rules.yaml"), YamlJson.Write(new JsonObject { ["groups"] = rule!.Body["spec"]!["groups"]!.DeepClone() }));
            var check = Promtool.Run(dir, "check", "rules", "rules.yaml");
            Assert.True(check.ExitCode == 0, check.Output);
            Assert.Contains("SUCCESS: 1 rules found", check.Output);

            // test rules: annotations hold {{ $value }}, whose exact float would only restate promtool's arithmetic,
            // so the unit test compares the alert and its labels.
            var groups = rule.Body["spec"]!["groups"]!.DeepClone().AsArray();
            foreach (var r in groups[0]!["rules"]!.AsArray()) r!.AsObject().Remove("annotations");
            File.WriteAllText(Path.Combine(dir, "unit-rules.yaml"), YamlJson.Write(new JsonObject { ["groups"] = groups }));
            var labels = new JsonObject
            {
                ["severity"] = "critical", ["usagealert"] = alert.Metadata.Name, ["usagealert_namespace"] = "team-a", ["metric"] = metric,
            };
            foreach (var (k, v) in c.OutputLabels) labels[k] = v;
            var alertName = PrometheusRules.AlertName(alert.Metadata.Name);
            JsonObject TestCase(string[] series, bool fires) => new()
            {
                ["interval"] = "1m",
                ["input_series"] = new JsonArray(series.Select(s =>
                {
                    var split = s.LastIndexOf('}') + 1;
                    return (JsonNode)new JsonObject { ["series"] = s[..split], ["values"] = s[(split + 1)..] };
                }).ToArray()),
                ["alert_rule_test"] = new JsonArray(new JsonObject
                {
                    ["eval_time"] = "100m",
                    ["alertname"] = alertName,
                    ["exp_alerts"] = fires ? new JsonArray(new JsonObject { ["exp_labels"] = labels.DeepClone() }) : new JsonArray(),
                }),
            };
            File.WriteAllText(Path.Combine(dir, "test.yaml"), YamlJson.Write(new JsonObject
            {
                ["rule_files"] = new JsonArray("unit-rules.yaml"),
                ["evaluation_interval"] = "1m",
                ["tests"] = new JsonArray(TestCase(c.Above, fires: true), TestCase(c.Below, fires: false)),
            }));
            var test = Promtool.Run(dir, "test", "rules", "test.yaml");
            Assert.True(test.ExitCode == 0, $"{expression.Expr}\n{test.Output}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PromtoolWouldCatchAWrongExpectation()
    {
        // The harness itself must be able to fail: a quiet expectation for firing series is rejected.
        var c = Cases["callCount"];
        var (rule, _) = PrometheusRules.For(Alert(c), Monitoring);
        var dir = Directory.CreateTempSubdirectory("agentmeter-promtool-").FullName;
        try
        {
            var groups = rule!.Body["spec"]!["groups"]!.DeepClone();
            File.WriteAllText(Path.Combine(dir, "r.yaml"), YamlJson.Write(new JsonObject { ["groups"] = groups }));
            File.WriteAllText(Path.Combine(dir, "t.yaml"), $$"""
                rule_files: [r.yaml]
                evaluation_interval: 1m
                tests:
                - interval: 1m
                  input_series:
                  - series: 'registry_tool_calls_total{tool="search",server="web",status="success"}'
                    values: '0+100x120'
                  alert_rule_test:
                  - eval_time: 100m
                    alertname: {{PrometheusRules.AlertName(Alert(c).Metadata.Name)}}
                    exp_alerts: []
                """);
            var result = Promtool.Run(dir, "test", "rules", "t.yaml");
            Assert.NotEqual(0, result.ExitCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("cost", null, "MetricNotInPrometheus")]
    [InlineData("callCount", "tenantId", "FilterNotInPrometheus")]
    [InlineData("tokens", "userId", "FilterNotInPrometheus")]
    public void AlertsPrometheusCannotEvaluateGetNoRuleAndAReason(string metric, string? filterField, string reason)
    {
        var alert = Alert(new Case(metric, "1", null, filterField switch
        {
            "tenantId" => new AlertFilter { TenantId = "acme" },
            "userId" => new AlertFilter { UserId = "u1" },
            _ => null,
        }, null, [], [], []));
        var (rule, expression) = PrometheusRules.For(alert, Monitoring);
        Assert.Null(rule);
        Assert.Equal(reason, expression.Reason);
    }

    [Fact]
    public void GeneratedObjectsValidateAgainstPrometheusOperatorSchemas()
    {
        var renderer = new Renderer(new AggregatorOptions(), Monitoring, "agentmeter");
        var objects = Cases.Values.Select(c => renderer.Rule(Alert(c)).Rule!)
            .Append(renderer.Workload(new RenderInput(), monitoringServed: true).Single(o => o.Kind == ObjectKind.ServiceMonitor))
            .ToList();
        Assert.Equal(Cases.Count + 1, objects.Count);
        var problems = UpstreamSchemas.Problems(objects.Select(o => (JsonNode)o.Body).ToList());
        for (var i = 0; i < objects.Count; i++)
            Assert.True(problems[i].Count == 0, $"{objects[i]}: {string.Join("; ", problems[i])}");
        // The check can fail: a rule without its expression is refused by the upstream schema.
        var broken = objects[0].Body.DeepClone().AsObject();
        var rule = broken["spec"]!["groups"]![0]!["rules"]![0]!.AsObject();
        rule["expression"] = rule["expr"]!.DeepClone();
        rule.Remove("expr");
        Assert.Contains(UpstreamSchemas.Problems(broken), p => p.Contains("expr", StringComparison.Ordinal));
    }
}
