using System.Text.Json.Nodes;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>
/// The namespace → tenant binding (label agentmeter.io/tenant) on the fake API server: an alert cannot read another
/// tenant's data, an alert in a bound namespace sees only its tenant, cluster-wide alerts come only from cluster-wide
/// namespaces, and a relabelled namespace is acted on.
/// </summary>
public class TenancyTests
{
    private static string Alert(string name, string ns, string spec) => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: {name}
          namespace: {ns}
        spec:
        {spec}
        """;

    private static JsonObject? Get(OperatorHarness h, string ns, string name) => h.Api.Get("usagealerts", ns, name);

    private static string? Reason(OperatorHarness h, string ns, string name, string type = "Ready") =>
        OperatorHarness.Condition(Get(h, ns, name), type)?["reason"]?.GetValue<string>();


    [Fact]
    public async Task AnAlertNamingAnotherTenantIsRefusedAndNothingReachesTheAggregator()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateNamespaceAsync("mallory-apps", tenant: "mallory");
        await h.CreateSecretAsync("mallory-apps", "hook", new() { ["url"] = "https://collector.mallory.example/x" }, OperatorHarness.WebhookSecretOptIn);
        // State the aggregator might still report (an earlier hand-off) must not show either.
        h.Aggregator.SetAlert("mallory-apps", "steal", "Firing", "9999", "alice@victim.example", "bob@victim.example");
        await h.StartReplicaAsync();
        await h.CreateAsync(Alert("steal", "mallory-apps", """
              metric: cost
              threshold: "0"
              window: 7d
              filter: {tenantId: victim}
              groupBy: user
              webhooks:
                - name: out
                  urlSecretRef: {name: hook, key: url}
            """));
        await h.CreateAsync(Alert("mine", "mallory-apps", "  metric: callCount\n  threshold: \"1\""));

        await OperatorHarness.WaitUntilAsync(() => Reason(h, "mallory-apps", "steal") == "TenantNotAllowed", "Ready=False TenantNotAllowed");
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("name: mine"), "the namespace's own alert is handed off");
        var ready = OperatorHarness.Condition(Get(h, "mallory-apps", "steal"), "Ready")!;
        Assert.Equal("False", ready["status"]!.GetValue<string>());
        Assert.Contains("spec.filter.tenantId is \"victim\" but namespace mallory-apps is bound to tenant \"mallory\"", ready["message"]!.GetValue<string>());
        Assert.Equal("TenantNotAllowed", Reason(h, "mallory-apps", "steal", "RuleGenerated"));
        Assert.Equal("NotHandedOff", Reason(h, "mallory-apps", "steal", "StatusSynced"));

        // Nothing of it reaches the aggregator, nothing of the victim comes back.
        Assert.DoesNotContain("name: steal", h.ResourcesYaml());
        Assert.DoesNotContain("victim", h.ResourcesYaml());
        Assert.Null(h.WebhookSecretValue("mallory-apps", "hook", "url"));
        Assert.Null(h.Api.Get("prometheusrules", "mallory-apps", "agentmeter-steal"));
        var status = Get(h, "mallory-apps", "steal")!["status"]!;
        Assert.Equal("Unknown", status["state"]!.GetValue<string>());
        Assert.Null(status["currentValue"]);
        Assert.Null(status["firingGroups"]);
        Assert.DoesNotContain(h.Api.List("events"), e => e["involvedObject"]?["name"]?.GetValue<string>() == "steal");
        Assert.DoesNotContain(h.Api.Requests, r => !r.FromTest && r.Resource == "secrets" && r.Name == "hook");
    }

    [Fact]
    public async Task AnAlertInABoundNamespaceIsConfinedToItsTenantAndGetsNoPrometheusRule()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateNamespaceAsync("acme-apps", tenant: "acme");
        await h.StartReplicaAsync();
        await h.CreateAsync(Alert("calls", "acme-apps", "  metric: callCount\n  threshold: \"100\"\n  groupBy: user"));
        await h.CreateAsync(Alert("own-tenant", "acme-apps", "  metric: cost\n  threshold: \"5\"\n  filter: {tenantId: acme}"));

        await OperatorHarness.WaitUntilAsync(() => Reason(h, "acme-apps", "calls", "RuleGenerated") == "TenantConfined", "RuleGenerated=False TenantConfined");
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("name: own-tenant") && h.ResourcesYaml().Contains("name: calls"), "both handed off");
        var ready = OperatorHarness.Condition(Get(h, "acme-apps", "calls"), "Ready")!;
        Assert.Equal("True", ready["status"]!.GetValue<string>());
        Assert.Contains("confined to tenant \"acme\", the tenant of namespace acme-apps", ready["message"]!.GetValue<string>());
        Assert.Contains("Prometheus metrics have no tenant label", OperatorHarness.Condition(Get(h, "acme-apps", "calls"), "RuleGenerated")!["message"]!.GetValue<string>());
        Assert.Null(h.Api.Get("prometheusrules", "acme-apps", "agentmeter-calls"));

        // The copy the aggregator reads carries the tenant; the alert as the SRE wrote it is untouched.
        var handedOff = AgentMeter.Entities.Serialization.ResourceDocuments.Read(h.ResourcesYaml(), "configmap").Resources
            .OfType<AgentMeter.Entities.Resources.UsageAlert>().ToDictionary(a => a.Metadata.Name);
        Assert.Equal("acme", handedOff["calls"].Spec.Filter!.TenantId);
        Assert.Equal("acme", handedOff["own-tenant"].Spec.Filter!.TenantId);
        Assert.Null(Get(h, "acme-apps", "calls")!["spec"]!["filter"]);
    }

    [Fact]
    public async Task ClusterWideAlertsComeOnlyFromClusterWideNamespaces()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateNamespaceAsync("acme-apps", tenant: "acme");
        await h.CreateNamespaceAsync("loose");
        await h.CreateNamespaceAsync("platform");
        await h.StartReplicaAsync(settings: new() { ["Operator:Tenancy:ClusterWideNamespaces:2"] = "platform" });
        // The operator's own namespace and a configured one: as written, any tenant, Prometheus rule where possible.
        await h.CreateAsync(Alert("breakers", OperatorHarness.Namespace, "  metric: circuitBreakerOpen\n  threshold: \"0\""));
        await h.CreateAsync(Alert("victim-cost", "platform", "  metric: cost\n  threshold: \"5\"\n  filter: {tenantId: victim}"));
        // A metric with no tenant dimension cannot be confined; a namespace with no tenant holds nothing.
        await h.CreateAsync(Alert("breakers", "acme-apps", "  metric: circuitBreakerOpen\n  threshold: \"0\""));
        await h.CreateAsync(Alert("calls", "loose", "  metric: callCount\n  threshold: \"1\""));

        await OperatorHarness.WaitUntilAsync(() => Reason(h, "acme-apps", "breakers") == "TenantNotAllowed" && Reason(h, "loose", "calls") == "TenantNotAllowed", "both refused");
        Assert.Contains("metric circuitBreakerOpen has no tenant dimension, so it is cluster-wide",
            OperatorHarness.Condition(Get(h, "acme-apps", "breakers"), "Ready")!["message"]!.GetValue<string>());
        Assert.Contains("namespace loose is not bound to a tenant and is not a cluster-wide namespace: label it (kubectl label namespace loose agentmeter.io/tenant=<tenant>)",
            OperatorHarness.Condition(Get(h, "loose", "calls"), "Ready")!["message"]!.GetValue<string>());

        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", OperatorHarness.Namespace, "agentmeter-breakers") is not null, "cluster-wide rule");
        await OperatorHarness.WaitUntilAsync(() => Reason(h, "platform", "victim-cost") == "Valid", "a cluster-wide namespace may name any tenant");
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("name: victim-cost"), "handed off as written");
        var text = h.ResourcesYaml();
        Assert.Contains("tenantId: victim", text);
        Assert.DoesNotContain("namespace: loose", text);
        Assert.DoesNotContain("namespace: acme-apps", text);
        Assert.Null(h.Api.Get("prometheusrules", "acme-apps", "agentmeter-breakers"));
    }

    [Fact]
    public async Task ARelabelledNamespaceIsDecidedAgain()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateNamespaceAsync("shared-apps", tenant: "acme");
        // No resync during the test: the namespace watch alone must carry the change.
        await h.StartReplicaAsync(settings: new() { ["Operator:ResyncPeriod"] = "01:00:00" });
        await h.CreateAsync(Alert("calls", "shared-apps", "  metric: callCount\n  threshold: \"1\""));
        await h.CreateAsync(Alert("acme-cost", "shared-apps", "  metric: cost\n  threshold: \"1\"\n  filter: {tenantId: acme}"));
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("name: acme-cost") && h.ResourcesYaml().Contains("name: calls"), "handed off while bound to acme");
        await OperatorHarness.WaitUntilAsync(() => Reason(h, "shared-apps", "acme-cost") == "Valid", "Ready=True while bound to acme");

        await h.LabelNamespaceAsync("shared-apps", "globex");

        await OperatorHarness.WaitUntilAsync(() => Reason(h, "shared-apps", "acme-cost") == "TenantNotAllowed", "the alert naming acme is refused after the relabel");
        await OperatorHarness.WaitUntilAsync(() => !h.ResourcesYaml().Contains("name: acme-cost"), "and taken from the aggregator");
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("tenantId: globex"), "the confined alert follows the new tenant");
        Assert.DoesNotContain("tenantId: acme", h.ResourcesYaml());
        // The status follows the hand-off: wait for it rather than race the status writer.
        await OperatorHarness.WaitUntilAsync(
            () => OperatorHarness.Condition(Get(h, "shared-apps", "calls"), "Ready")?["message"]?.GetValue<string>().Contains("confined to tenant \"globex\"") == true,
            "the confined alert's condition names the new tenant");
    }

    [Fact]
    public async Task WithEnforcementOffResourcesAreTakenAsWritten()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateNamespaceAsync("one-team", tenant: "acme");
        await h.StartReplicaAsync(settings: new() { ["Operator:Tenancy:Enforce"] = "false" });
        await h.CreateAsync(Alert("other-cost", "one-team", "  metric: cost\n  threshold: \"1\"\n  filter: {tenantId: globex}"));
        await OperatorHarness.WaitUntilAsync(() => Reason(h, "one-team", "other-cost") == "Valid", "taken as written");
        // The status and the ConfigMap are separate writes: wait for the hand-off rather than race it.
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("tenantId: globex"), () => "handed off as written:\n" + h.ResourcesYaml());
    }
}
