using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>Budgets on the fake API server: the CRD refuses bad specs, the tenant rule applies, the hand-off and status sync work.</summary>
public class BudgetTests
{
    private static string Budget(string name, string ns, string spec) => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: Budget
        metadata:
          name: {name}
          namespace: {ns}
        spec:
        {spec}
        """;

    private static JsonObject? Get(OperatorHarness h, string ns, string name) => h.Api.Get("budgets", ns, name);

    private static string? Reason(OperatorHarness h, string ns, string name, string type = "Ready") =>
        OperatorHarness.Condition(Get(h, ns, name), type)?["reason"]?.GetValue<string>();

    [Theory]
    [InlineData("  amount: \"0.00\"", "amount must be more than 0")]
    [InlineData("  amount: \"100\"\n  thresholds: [50, 80, 50]", "thresholds must not list a percentage twice")]
    [InlineData("  amount: \"100\"\n  period: year", "/spec/period")]
    [InlineData("  amount: \"100\"\n  webhooks:\n    - name: w\n      format: pagerduty\n      url: https://events.pagerduty.com/v2/enqueue", "pagerduty webhooks need routingKeySecretRef")]
    public async Task TheApiServerRefusesBadSpecsWithAClearMessage(string spec, string message)
    {
        await using var h = await OperatorHarness.StartAsync();
        var refused = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => h.CreateAsync(Budget("b", "team-a", spec)));
        Assert.Equal(422, (int)refused.Response.StatusCode);
        Assert.Contains(message, refused.Response.Content);
    }

    [Fact]
    public async Task AValidBudgetIsHandedOffConfinedToItsTenantAndGetsTheAggregatorsEvaluation()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateNamespaceAsync("acme-apps", tenant: "acme");
        h.Aggregator.SetBudget("acme-apps", "monthly", "Exceeded", "120.5", "180");
        await h.StartReplicaAsync();
        await h.CreateAsync(Budget("monthly", "acme-apps", "  amount: \"100\"\n  filter: {model: gpt-4o}"));

        await OperatorHarness.WaitUntilAsync(() => Get(h, "acme-apps", "monthly")?["status"]?["state"]?.GetValue<string>() == "Exceeded", "status copied");
        var status = Get(h, "acme-apps", "monthly")!["status"]!;
        Assert.Equal("120.5", status["spent"]!.GetValue<string>());
        Assert.Equal("180", status["projected"]!.GetValue<string>());
        Assert.Equal(100, status["lastNotifiedThreshold"]!.GetValue<int>());
        Assert.Equal("Valid", Reason(h, "acme-apps", "monthly"));
        Assert.Equal("Synced", Reason(h, "acme-apps", "monthly", "StatusSynced"));

        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("kind: Budget"), "handed off");
        var handedOff = ResourceDocuments.Read(h.ResourcesYaml(), "configmap").Resources.OfType<Budget>().Single();
        Assert.Equal(("acme", "gpt-4o"), (handedOff.Spec.Filter!.TenantId, handedOff.Spec.Filter.Model));
        Assert.Null(Get(h, "acme-apps", "monthly")!["spec"]!["filter"]!["tenantId"]);
    }

    [Fact]
    public async Task ABudgetNamingAnotherTenantIsRefusedAndShowsNoState()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateNamespaceAsync("mallory-apps", tenant: "mallory");
        await h.CreateSecretAsync("mallory-apps", "hook", new() { ["url"] = "https://collector.mallory.example/x" }, OperatorHarness.WebhookSecretOptIn);
        h.Aggregator.SetBudget("mallory-apps", "spy", "Warning", "4321.99", "9000");
        await h.StartReplicaAsync();
        await h.CreateAsync(Budget("spy", "mallory-apps", """
              amount: "1"
              filter: {tenantId: victim}
              webhooks:
                - name: out
                  urlSecretRef: {name: hook, key: url}
            """));
        await h.CreateAsync(Budget("mine", "mallory-apps", "  amount: \"10\""));

        await OperatorHarness.WaitUntilAsync(() => Reason(h, "mallory-apps", "spy") == "TenantNotAllowed", "Ready=False TenantNotAllowed");
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("name: mine"), "the namespace's own budget is handed off");
        Assert.Contains("spec.filter.tenantId is \"victim\" but namespace mallory-apps is bound to tenant \"mallory\"",
            OperatorHarness.Condition(Get(h, "mallory-apps", "spy"), "Ready")!["message"]!.GetValue<string>());
        Assert.Equal("NotHandedOff", Reason(h, "mallory-apps", "spy", "StatusSynced"));
        Assert.DoesNotContain("name: spy", h.ResourcesYaml());
        Assert.DoesNotContain("victim", h.ResourcesYaml());
        Assert.Null(h.WebhookSecretValue("mallory-apps", "hook", "url"));
        var status = Get(h, "mallory-apps", "spy")!["status"]!;
        Assert.Null(status["spent"]);
        Assert.Null(status["state"]);
    }

    [Fact]
    public async Task ABudgetsOptedInWebhookSecretIsCopiedForTheAggregator()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateNamespaceAsync("acme-apps", tenant: "acme");
        await h.CreateSecretAsync("acme-apps", "hook", new() { ["url"] = "https://hooks.acme.example/b" }, OperatorHarness.WebhookSecretOptIn);
        await h.StartReplicaAsync();
        await h.CreateAsync(Budget("monthly", "acme-apps", """
              amount: "100"
              webhooks:
                - name: finance
                  urlSecretRef: {name: hook, key: url}
            """));
        await OperatorHarness.WaitUntilAsync(
            () => h.WebhookSecretValue("acme-apps", "hook", "url") is not null, "secret copied");
        await OperatorHarness.WaitUntilAsync(() => Reason(h, "acme-apps", "monthly") == "Valid", "Ready=True");
    }
}
