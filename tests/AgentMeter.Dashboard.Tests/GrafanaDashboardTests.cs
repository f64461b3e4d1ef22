using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AgentMeter.Dashboard.Tests;

/// <summary>
/// charts/agentmeter/dashboards/agentmeter.json: every PromQL expression parses (real promtool) and names only
/// metrics the aggregator exports.
/// </summary>
public sealed partial class GrafanaDashboardTests
{
    /// <summary>The metric names of docs/contracts.md; histograms expose their series.</summary>
    private static readonly HashSet<string> ExportedMetrics =
    [
        "registry_agent_requests_total", "registry_tool_calls_total",
        "registry_tool_call_duration_seconds_bucket", "registry_tool_call_duration_seconds_sum", "registry_tool_call_duration_seconds_count",
        "registry_circuit_breaker_state", "registry_active_sse_connections", "registry_webhook_deliveries_total",
        "registry_estimated_token_usage_total", "registry_estimated_cost_total",
        // AgentMeter's own health (docs/runbooks.md), the last one the operator's.
        "agentmeter_aggregation_last_success_timestamp_seconds", "agentmeter_aggregation_duration_seconds",
        "agentmeter_alert_evaluation_duration_seconds_bucket", "agentmeter_alert_evaluation_duration_seconds_sum",
        "agentmeter_alert_evaluation_duration_seconds_count", "agentmeter_alerts_loaded", "agentmeter_notification_outbox_pending",
        "agentmeter_notification_outbox_oldest_age_seconds", "agentmeter_ingest_events_total", "agentmeter_retention_last_success_timestamp_seconds",
        "agentmeter_operator_reconcile_errors_total",
    ];

    private static readonly HashSet<string> Keywords = ["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
        "group_left", "group_right", "inf", "nan"];

    private static readonly JsonElement Dashboard =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "grafana", "agentmeter.json"))).RootElement;

    [Fact]
    public void CoversTheMetricsTheIssueAsksFor()
    {
        var expressions = string.Join("\n", PanelExpressions().Select(e => e.Expr));
        foreach (var metric in new[]
                 {
                     "registry_tool_calls_total", "registry_tool_call_duration_seconds_bucket", "registry_estimated_token_usage_total",
                     "registry_estimated_cost_total", "registry_circuit_breaker_state", "registry_webhook_deliveries_total",
                 })
        {
            Assert.Contains(metric, expressions);
        }

        Assert.Contains("histogram_quantile(0.99", expressions);
        Assert.All(ExportedMetrics.Where(m => m.StartsWith("agentmeter_", StringComparison.Ordinal) && !m.EndsWith("_sum") && !m.EndsWith("_count")),
            metric => Assert.Contains(metric, expressions));
        Assert.Contains(Dashboard.GetProperty("panels").EnumerateArray(),
            panel => panel.GetProperty("type").GetString() == "row" && panel.GetProperty("title").GetString() == "AgentMeter health");
        Assert.Equal("agentmeter", Dashboard.GetProperty("uid").GetString());
    }

    [Fact]
    public async Task EveryExpressionParsesWithPromtool()
    {
        var expressions = PanelExpressions().ToList();
        Assert.True(expressions.Count >= 20, $"only {expressions.Count} expressions found");
        var (exit, output) = await CheckRulesAsync(expressions.Select(e => Concrete(e.Expr)));
        Assert.True(exit == 0, output);
        Assert.Contains($"SUCCESS: {expressions.Count} rules found", output);
    }

    [Fact]
    public async Task PromtoolRejectsABrokenExpression()
    {
        // Proves the check above can fail: one missing parenthesis is reported.
        var (exit, output) = await CheckRulesAsync(["sum(rate(registry_tool_calls_total[5m])"]);
        Assert.NotEqual(0, exit);
        Assert.Contains("parse error", output);
    }

    [Fact]
    public void EveryExpressionNamesOnlyExportedMetrics()
    {
        var queries = PanelExpressions().Select(e => (e.Where, e.Expr)).Concat(VariableQueries()).ToList();
        foreach (var (where, expr) in queries)
        {
            var names = MetricNames(expr).ToList();
            Assert.True(names.Count > 0, $"{where}: no metric in `{expr}`");
            Assert.All(names, name => Assert.True(ExportedMetrics.Contains(name), $"{where}: `{name}` is not exported by the aggregator or the operator"));
        }
    }

    [Fact]
    public void MetricNameCheckCatchesAnUnknownMetric()
    {
        Assert.Equal(["registry_tool_calls_total", "made_up_metric"],
            MetricNames("sum by (tool) (rate(registry_tool_calls_total{status=\"failure\"}[5m])) / on (tool) group_left made_up_metric"));
    }

    internal static IEnumerable<(string Where, string Expr)> PanelExpressions() =>
        Dashboard.GetProperty("panels").EnumerateArray()
            .Where(panel => panel.TryGetProperty("targets", out _))
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(target =>
                ($"panel “{panel.GetProperty("title").GetString()}” {target.GetProperty("refId").GetString()}", target.GetProperty("expr").GetString()!)));

    /// <summary>The metric selector inside each <c>label_values(selector, label)</c> variable query.</summary>
    internal static IEnumerable<(string Where, string Expr)> VariableQueries() =>
        Dashboard.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(variable => variable.GetProperty("type").GetString() == "query")
            .Select(variable => ($"variable {variable.GetProperty("name").GetString()}",
                LabelValues().Match(variable.GetProperty("definition").GetString()!).Groups[1].Value));

    /// <summary>Grafana's variables replaced by what Grafana would send, so promtool sees plain PromQL.</summary>
    private static string Concrete(string expr) => GrafanaVariable().Replace(expr, match => match.Value switch
    {
        "$__rate_interval" or "$__interval" or "$__range" => "5m",
        _ => ".*",
    });

    internal static List<string> MetricNames(string expr)
    {
        var bare = QuotedString().Replace(expr, "\"\"");
        bare = LabelMatchers().Replace(bare, "");
        bare = RangeSelector().Replace(bare, "");
        bare = LabelList().Replace(bare, "");
        return Identifier().Matches(bare)
            .Where(match => !match.Groups["call"].Success && !Keywords.Contains(match.Groups["name"].Value))
            .Select(match => match.Groups["name"].Value)
            .ToList();
    }

    private static async Task<(int Exit, string Output)> CheckRulesAsync(IEnumerable<string> expressions)
    {
        var file = Path.Combine(Path.GetTempPath(), $"agentmeter-grafana-{Guid.NewGuid():N}.rules.yaml");
        var rules = expressions.Select((expr, index) => $"      - record: agentmeter:grafana_expression_{index}\n        expr: {JsonSerializer.Serialize(expr)}");
        await File.WriteAllTextAsync(file, "groups:\n  - name: grafana-dashboard\n    rules:\n" + string.Join("\n", rules) + "\n");
        try
        {
            using var promtool = Process.Start(new ProcessStartInfo("/usr/bin/promtool", ["check", "rules", file])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var stdout = promtool.StandardOutput.ReadToEndAsync();
            var stderr = promtool.StandardError.ReadToEndAsync();
            await promtool.WaitForExitAsync();
            return (promtool.ExitCode, await stdout + await stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex(@"\$(__\w+|\{\w+\}|\w+)")]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"^label_values\((.*),\s*\w+\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex QuotedString();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex RangeSelector();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex LabelList();

    [GeneratedRegex(@"(?<![\w.])(?<name>[A-Za-z_:][A-Za-z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifier();
}
