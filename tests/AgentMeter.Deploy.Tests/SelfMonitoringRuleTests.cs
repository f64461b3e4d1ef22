using AgentMeter.Testing.Upstream;
using System.Text.RegularExpressions;
using AgentMeter.Deploy.Tests.Support;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Deploy.Tests;

/// <summary>
/// The chart's PrometheusRule on AgentMeter itself: promtool checks and unit-tests every alert, each
/// alert has a test case and a runbook section, and the rendered object is opt-in, valid against the
/// upstream CRD and links its runbooks.
/// </summary>
public class SelfMonitoringRuleTests
{
    private static string RulesFile => Path.Combine(Repo.Chart, "files", "self-monitoring", "rules.yaml");
    private static string TestFile => Path.Combine(Repo.Root, "tests", "AgentMeter.Deploy.Tests", "SelfMonitoring", "rules.test.yaml");

    private static List<string> Alerts() =>
        Yaml.Objects(File.ReadAllText(RulesFile)).Single().Objects("groups").SelectMany(g => g.Objects("rules")).Select(r => r.Str("alert")!).ToList();

    [Fact]
    public void PromtoolChecksAndUnitTestsTheRules()
    {
        var (code, output) = Promtool.Run(Repo.Root, "check", "rules", RulesFile);
        Assert.True(code == 0, output);
        (code, output) = Promtool.Run(Repo.Root, "test", "rules", TestFile);
        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS", output);
    }

    [Fact]
    public void EveryAlertTheIssueNamesIsThereWithATestAndARunbook()
    {
        var alerts = Alerts();
        foreach (var required in new[] { "AgentMeterAggregationStale", "AgentMeterNotificationBacklog", "AgentMeterIngestRejecting",
                     "AgentMeterAlertEvaluationSlow", "AgentMeterOperatorReconcileErrors" })
            Assert.Contains(required, alerts);
        var tested = Yaml.Objects(File.ReadAllText(TestFile)).Single().Objects("tests")
            .SelectMany(t => t.Objects("alert_rule_test")).Where(t => t.Objects("exp_alerts").Any()).Select(t => t.Str("alertname")).ToHashSet();
        var runbooks = File.ReadAllText(Path.Combine(Repo.Root, "docs", "runbooks.md"));
        foreach (var alert in alerts)
        {
            Assert.True(tested.Contains(alert), $"{alert} has no promtool case in which it fires");
            Assert.Matches(new Regex($"^## {alert}$", RegexOptions.Multiline), runbooks);
        }
    }

    [Fact]
    public void TheRuleIsOptInValidUpstreamAndLinksItsRunbooks()
    {
        Assert.Empty(Installs.ChartDefault.OfKind("PrometheusRule"));
        var rule = Installs.ChartProduction.Single("PrometheusRule", "agentmeter-self-monitoring");
        Assert.Equal("kube-prometheus-stack", rule.Str("metadata.labels.release"));
        var problems = UpstreamSchemas.Problems(rule);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var rules = rule.Objects("spec.groups").SelectMany(g => g.Objects("rules")).ToList();
        Assert.Equal(Alerts(), rules.Select(r => r.Str("alert")));
        foreach (var r in rules)
            Assert.Equal($"https://git.internal.example/platform/agentmeter/-/blob/main/docs/runbooks.md#{r.Str("alert")!.ToLowerInvariant()}",
                r.Str("annotations.runbook_url"));
    }
}
