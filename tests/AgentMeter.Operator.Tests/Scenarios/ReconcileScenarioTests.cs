using System.Text.Json.Nodes;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Operator.Tests.Scenarios;

public class ReconcileScenarioTests
{
    private const string ErrorRateAlert = """
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: search-errors
          namespace: team-a
        spec:
          metric: errorRate
          threshold: "0.05"
          window: 15m
          filter:
            toolName: search
          severity: critical
          prometheusRule:
            for: 5m
        """;

    [Fact]
    public async Task CreateEditDeleteDrivesObjectsAndStatus()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Aggregator.SetAlert("team-a", "search-errors", "Firing", "0.12", "search");
        await h.StartReplicaAsync();
        await h.CreateAsync(ErrorRateAlert);
        await h.CreateAsync(File.ReadAllText(Path.Combine(RepoPaths.Samples, "costrate-example.yaml")));
        await h.CreateAsync(File.ReadAllText(Path.Combine(RepoPaths.Samples, "retentionpolicy-default.yaml")));

        // create → workload, rule and status appear
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-search-errors") is not null,
            () => "PrometheusRule; requests: " + string.Join(" ", h.Api.Requests.Where(r => r.Resource == "leases").Select(r => $"{r.Method}:{r.Status}")) + h.Api.Get("leases", "agentmeter", "agentmeter-operator"));
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("usagealerts", "team-a", "search-errors")?["status"]?["state"]?.GetValue<string>() == "Firing",
            () => $"state Firing; alert: {h.Api.Get("usagealerts", "team-a", "search-errors")}; failed requests: {string.Join("\n", h.Api.Requests.Where(r => r.Status >= 400))}");
        await OperatorHarness.WaitUntilAsync(() => (h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources")?["data"]?["resources.yaml"]?.GetValue<string>() ?? "").Contains("example-model-2026-11"), "ConfigMap of the cluster-scoped kinds");
        await OperatorHarness.WaitUntilAsync(() => (h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-team-a")?["data"]?["resources.yaml"]?.GetValue<string>() ?? "").Contains("name: search-errors"), "team-a's own ConfigMap");
        foreach (var (plural, name) in new[] { ("deployments", "agentmeter-aggregator"), ("services", "agentmeter-aggregator"), ("servicemonitors", "agentmeter-aggregator") })
            await OperatorHarness.WaitUntilAsync(() => h.Api.Get(plural, OperatorHarness.Namespace, name) is not null, $"{plural}/{name}");

        var rule = h.Api.Get("prometheusrules", "team-a", "agentmeter-search-errors")!;
        var alert = h.Api.Get("usagealerts", "team-a", "search-errors")!;
        Assert.Equal(alert["metadata"]!["uid"]!.GetValue<string>(), rule["metadata"]!["ownerReferences"]![0]!["uid"]!.GetValue<string>());
        Assert.Equal("kube-prometheus-stack", rule["metadata"]!["labels"]!["release"]!.GetValue<string>());
        Assert.Contains("agentmeter-operator", rule["metadata"]!["managedFields"]!.AsArray().Select(m => m!["manager"]!.GetValue<string>()));
        var expr = rule["spec"]!["groups"]![0]!["rules"]![0]!["expr"]!.GetValue<string>();
        Assert.Contains("registry_tool_calls_total{tool=\"search\",status=\"failure\"}[15m]", expr);
        Assert.Equal("True", OperatorHarness.Condition(alert, "Ready")!["status"]!.GetValue<string>());
        Assert.Equal("True", OperatorHarness.Condition(alert, "RuleGenerated")!["status"]!.GetValue<string>());
        Assert.Equal(1, alert["status"]!["observedGeneration"]!.GetValue<long>());
        Assert.Equal("0.12", alert["status"]!["currentValue"]!.GetValue<string>());
        Assert.Equal(["search"], alert["status"]!["firingGroups"]!.AsArray().Select(g => g!.GetValue<string>()));
        await OperatorHarness.WaitUntilAsync(() => h.Api.List("events").Any(e => e["reason"]?.GetValue<string>() == "Firing"), "Firing event");
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Condition(h.Api.Get("costrates", null, "example-model-2026-11"), "Ready")?["status"]?.GetValue<string>() == "True", "CostRate Ready");
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Condition(h.Api.Get("retentionpolicies", null, "default"), "Ready")?["status"]?.GetValue<string>() == "True", "RetentionPolicy Ready");
        h.Aggregator.SetRetention("Succeeded", "2026-11-29T00:30:00Z", "2026-11-30T01:30:00Z");
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("retentionpolicies", null, "default")?["status"]?["lastResult"]?.GetValue<string>() == "Succeeded", "retention status copied");
        var retention = h.Api.Get("retentionpolicies", null, "default")!["status"]!;
        Assert.StartsWith("2026-11-30T01:30:00", retention["nextRunTime"]!.GetValue<string>());
        Assert.StartsWith("2026-11-29T00:30:00", retention["lastRunTime"]!.GetValue<string>());

        // edit → re-rendered, generation observed
        await h.PatchSpecAsync("usagealerts", "team-a", "search-errors", new JsonObject { ["threshold"] = "0.2" });
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-search-errors")!["spec"]!["groups"]![0]!["rules"]![0]!["expr"]!.GetValue<string>().EndsWith("> 0.2"), "rule re-rendered");
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("usagealerts", "team-a", "search-errors")?["status"]?["observedGeneration"]?.GetValue<long>() == 2, "observedGeneration 2");

        // resolved → event
        h.Aggregator.SetAlert("team-a", "search-errors", "Ok", "0.01");
        await OperatorHarness.WaitUntilAsync(() => h.Api.List("events").Any(e => e["reason"]?.GetValue<string>() == "Resolved"), "Resolved event");
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("usagealerts", "team-a", "search-errors")?["status"]?["state"]?.GetValue<string>() == "Ok", "state Ok");

        // delete → owned rule goes, and team-a's ConfigMap with its last alert
        await h.DeleteAsync("usagealerts", "team-a", "search-errors");
        Assert.Null(h.Api.Get("prometheusrules", "team-a", "agentmeter-search-errors"));
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-team-a") is null, "team-a's ConfigMap deleted");
        Assert.DoesNotContain("search-errors", h.ResourcesYaml());
    }
}
