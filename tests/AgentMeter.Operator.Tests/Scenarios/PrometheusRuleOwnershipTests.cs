using System.Text.Json.Nodes;
using AgentMeter.Operator.Tests.Support;
using k8s;
using k8s.Autorest;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>A PrometheusRule someone else made under the name the operator would use is never taken over or deleted.</summary>
public class PrometheusRuleOwnershipTests
{
    private const string Alert = """
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata: {name: calls, namespace: team-a}
        spec: {metric: callCount, threshold: "100", window: 1h}
        """;

    private static readonly JsonObject ForeignRule = new()
    {
        ["apiVersion"] = "monitoring.coreos.com/v1",
        ["kind"] = "PrometheusRule",
        ["metadata"] = new JsonObject { ["name"] = "agentmeter-calls", ["namespace"] = "team-a" },
        ["spec"] = new JsonObject
        {
            ["groups"] = new JsonArray(new JsonObject
            {
                ["name"] = "platform",
                ["rules"] = new JsonArray(new JsonObject { ["alert"] = "PlatformDown", ["expr"] = "up == 0" }),
            }),
        },
    };

    private static string? RuleReason(OperatorHarness h) =>
        OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "RuleGenerated")?["reason"]?.GetValue<string>();

    private static string Expr(OperatorHarness h) =>
        h.Api.Get("prometheusrules", "team-a", "agentmeter-calls")!["spec"]!["groups"]![0]!["rules"]![0]!["expr"]!.GetValue<string>();

    [Fact]
    public async Task AForeignRuleWithTheSameNameIsLeftAloneAndReported()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.Client.CustomObjects.CreateNamespacedCustomObjectAsync(ForeignRule, "monitoring.coreos.com", "v1", "team-a", "prometheusrules", fieldManager: "platform-team");
        await h.StartReplicaAsync();
        await h.CreateAsync(Alert);

        await OperatorHarness.WaitUntilAsync(() => RuleReason(h) == "RuleNotOwned", "RuleGenerated=False RuleNotOwned");
        Assert.Contains("PrometheusRule team-a/agentmeter-calls exists and is not owned by this UsageAlert",
            OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "RuleGenerated")!["message"]!.GetValue<string>());
        Assert.Equal("True", OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "Ready")!["status"]!.GetValue<string>());

        // Disabling the rule must not delete the foreign one either.
        await h.PatchSpecAsync("usagealerts", "team-a", "calls", new JsonObject { ["prometheusRule"] = new JsonObject { ["enabled"] = false } });
        await OperatorHarness.WaitUntilAsync(() => RuleReason(h) == "Disabled", "RuleGenerated=False Disabled");
        await h.PatchSpecAsync("usagealerts", "team-a", "calls", new JsonObject { ["prometheusRule"] = new JsonObject { ["enabled"] = true } });
        await OperatorHarness.WaitUntilAsync(() => RuleReason(h) == "RuleNotOwned", "RuleNotOwned again");
        Assert.Equal("up == 0", Expr(h));
        Assert.DoesNotContain(h.Api.Requests, r => !r.FromTest && r.Resource == "prometheusrules" && r.IsWrite);

        // Once its owner removes it, the operator writes its own.
        await h.Client.CustomObjects.DeleteNamespacedCustomObjectAsync("monitoring.coreos.com", "v1", "team-a", "prometheusrules", "agentmeter-calls");
        await OperatorHarness.WaitUntilAsync(() => RuleReason(h) == "RuleApplied", "RuleApplied after the foreign rule is gone");
        Assert.Contains("registry_tool_calls_total", Expr(h));
    }

    [Fact]
    public async Task DeletesCarryTheUidSoARecreatedObjectIsNotDeleted()
    {
        await using var h = await OperatorHarness.StartAsync();
        var created = await h.Client.CustomObjects.CreateNamespacedCustomObjectAsync(ForeignRule, "monitoring.coreos.com", "v1", "team-a", "prometheusrules");
        var uid = ((System.Text.Json.JsonElement)created).GetProperty("metadata").GetProperty("uid").GetString();
        var stale = new k8s.Models.V1DeleteOptions { Preconditions = new k8s.Models.V1Preconditions { Uid = "not-" + uid } };
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() =>
            h.Client.CustomObjects.DeleteNamespacedCustomObjectAsync("monitoring.coreos.com", "v1", "team-a", "prometheusrules", "agentmeter-calls", body: stale));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, refused.Response.StatusCode);
        Assert.NotNull(h.Api.Get("prometheusrules", "team-a", "agentmeter-calls"));
        await h.Client.CustomObjects.DeleteNamespacedCustomObjectAsync("monitoring.coreos.com", "v1", "team-a", "prometheusrules", "agentmeter-calls",
            body: new k8s.Models.V1DeleteOptions { Preconditions = new k8s.Models.V1Preconditions { Uid = uid } });
        Assert.Null(h.Api.Get("prometheusrules", "team-a", "agentmeter-calls"));
    }
}
