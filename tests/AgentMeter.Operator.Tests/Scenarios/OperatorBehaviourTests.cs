using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Commands;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Tests.Support;
using k8s;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentMeter.Operator.Tests.Scenarios;

public class OperatorBehaviourTests
{
    private static string Alert(string name, string ns = "team-a", string metric = "callCount", string threshold = "100", string extra = "") => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          metric: {metric}
          threshold: "{threshold}"
          window: 1h
        {extra}
        """;

    private const string WebhookAlert = """
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: paged
          namespace: team-b
        spec:
          metric: errorRate
          threshold: "0.05"
          webhooks:
            - name: oncall
              format: pagerduty
              url: https://events.pagerduty.com/v2/enqueue
              routingKeySecretRef: {name: pd, key: routing-key}
              signingSecretRef: {name: pd, key: signing}
        """;

    [Fact]
    public async Task NothingIsWrittenWhenNothingChanged()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Aggregator.SetAlert("team-a", "calls", "Ok", "3");
        await h.CreateAsync(Alert("calls"));
        await h.CreateAsync(File.ReadAllText(Path.Combine(RepoPaths.Samples, "costrate-example.yaml")));
        // A short resync period: the test waits for resyncs, not for a clock.
        var replica = await h.StartReplicaAsync(settings: new() { ["Operator:ResyncPeriod"] = "00:00:00.500" });
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("usagealerts", "team-a", "calls")?["status"]?["state"]?.GetValue<string>() == "Ok", "steady state");
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("deployments", OperatorHarness.Namespace, "agentmeter-aggregator") is not null, "workload");
        await h.SettleAsync(replica);

        var before = h.Writes();
        var statusSyncs = h.Aggregator.AlertReads;
        await OperatorHarness.ResyncsAsync(replica, 2);
        await OperatorHarness.WaitUntilAsync(() => h.Aggregator.AlertReads >= statusSyncs + 3, "three more status syncs");

        Assert.True(before == h.Writes(), "writes in steady state: " + string.Join("\n", h.WriteLog().Skip(before)));
        Assert.True(before > 0, "the operator did write while converging");
    }

    [Fact]
    public async Task InvalidSpecGivesReadyFalseAndTheOperatorCarriesOn()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.StartReplicaAsync();
        // errorRate is a ratio: the schema accepts "5" as a decimal, the validator does not.
        await h.CreateAsync(Alert("bad-ratio", metric: "errorRate", threshold: "5"));
        await h.CreateAsync(Alert("good"));

        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "bad-ratio"), "Ready")?["reason"]?.GetValue<string>() == "InvalidSpec", "Ready=False InvalidSpec");
        var ready = OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "bad-ratio"), "Ready")!;
        Assert.Equal("False", ready["status"]!.GetValue<string>());
        Assert.Contains("spec.threshold: errorRate is a ratio from 0 to 1, got 5", ready["message"]!.GetValue<string>());
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-good") is not null, "the valid alert still gets its rule");
        Assert.Null(h.Api.Get("prometheusrules", "team-a", "agentmeter-bad-ratio"));
        await OperatorHarness.WaitUntilAsync(() => h.ResourcesYaml().Contains("name: good"), "ConfigMap has the valid alert");
        Assert.DoesNotContain("bad-ratio", h.ResourcesYaml());

        // Fixing the spec heals it.
        await h.PatchSpecAsync("usagealerts", "team-a", "bad-ratio", new JsonObject { ["threshold"] = "0.5" });
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "bad-ratio"), "Ready")?["status"]?.GetValue<string>() == "True", "Ready=True after the fix");
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-bad-ratio") is not null, "rule after the fix");
    }

    [Fact]
    public async Task WithoutPrometheusOperatorAConditionSaysSoAndNothingLoops()
    {
        await using var h = await OperatorHarness.StartAsync(monitoring: false);
        var replica = await h.StartReplicaAsync(settings: new() { ["Operator:ResyncPeriod"] = "00:00:00.500" });
        await h.CreateAsync(Alert("calls"));
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "RuleGenerated")?["reason"]?.GetValue<string>() == "PrometheusOperatorMissing", "RuleGenerated=False PrometheusOperatorMissing");
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("deployments", OperatorHarness.Namespace, "agentmeter-aggregator") is not null, "workload without monitoring");
        Assert.DoesNotContain(h.Api.Requests, r => r.Group == "monitoring.coreos.com");
        var metrics = replica.Services.GetRequiredService<OperatorMetrics>();
        // The first read of the aggregator changes StatusSynced once (AggregatorUnavailable -> NotEvaluated): a real change, not a loop.
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "StatusSynced")?["reason"]?.GetValue<string>() == "NotEvaluated", "the aggregator read once");
        await h.SettleAsync(replica);
        var writes = h.Writes();
        var settled = h.Api.Get("usagealerts", "team-a", "calls")!["status"]!.ToJsonString();
        await OperatorHarness.ResyncsAsync(replica, 2);
        Assert.True(writes == h.Writes(), "writes after converging: " + string.Join("\n", h.WriteLog().Skip(writes)) +
            $"\nstatus settled: {settled}\nstatus now: {h.Api.Get("usagealerts", "team-a", "calls")!["status"]!.ToJsonString()}");
        Assert.Equal(0, metrics.ReconcileErrors.WithLabels("workload").Value);
    }

    [Fact]
    public async Task WebhookSecretsAreCopiedAndMissingOnesReported()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateSecretAsync("team-b", "pd", new() { ["routing-key"] = "R0UT1NG", ["signing"] = "s3cret" }, OperatorHarness.WebhookSecretOptIn);
        await h.StartReplicaAsync();
        await h.CreateAsync(WebhookAlert);
        await OperatorHarness.WaitUntilAsync(() => h.WebhookSecretValue("team-b", "pd", "routing-key") is not null, "copied secret");
        Assert.Equal("R0UT1NG", h.WebhookSecretValue("team-b", "pd", "routing-key"));
        Assert.Equal("s3cret", h.WebhookSecretValue("team-b", "pd", "signing"));

        await h.CreateAsync(WebhookAlert.Replace("name: paged", "name: broken").Replace("name: pd,", "name: nowhere,"));
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Condition(h.Api.Get("usagealerts", "team-b", "broken"), "Ready")?["reason"]?.GetValue<string>() == "SecretMissing", "Ready=False SecretMissing");
        Assert.Contains("nowhere/routing-key", OperatorHarness.Condition(h.Api.Get("usagealerts", "team-b", "broken"), "Ready")!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task ConflictsAreRetriedWithBackoff()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Api.InjectFault(r => r.Verb == "patch" && r.Resource == "prometheusrules", 409, "Conflict", times: 3);
        var replica = await h.StartReplicaAsync();
        await h.CreateAsync(Alert("calls"));
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-calls") is not null, "rule applied after conflicts");
        Assert.Equal(3, h.Api.Requests.Count(r => r.Resource == "prometheusrules" && r.Status == 409));
        Assert.True(replica.Services.GetRequiredService<OperatorMetrics>().ReconcileErrors.WithLabels("UsageAlert").Value >= 3);
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "RuleGenerated")?["status"]?.GetValue<string>() == "True", "RuleGenerated=True");
    }

    [Fact]
    public async Task HandEditsOfOwnedFieldsAreRevertedOnResync()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.StartReplicaAsync();
        await h.CreateAsync(Alert("calls"));
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-calls") is not null, "rule");
        string Expr() => h.Api.Get("prometheusrules", "team-a", "agentmeter-calls")!["spec"]!["groups"]![0]!["rules"]![0]!["expr"]!.GetValue<string>();
        var generated = Expr();

        // kubectl edit: an Update by another manager takes the field over.
        var edit = new JsonObject { ["spec"] = new JsonObject { ["groups"] = new JsonArray(new JsonObject { ["name"] = "hand", ["rules"] = new JsonArray(new JsonObject { ["alert"] = "X", ["expr"] = "vector(1)" }) }) } };
        var patched = await h.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new k8s.Models.V1Patch(edit.ToJsonString(), k8s.Models.V1Patch.PatchType.MergePatch),
            "monitoring.coreos.com", "v1", "team-a", "prometheusrules", "agentmeter-calls", fieldManager: "kubectl-edit");
        // The edit took (read from the patch's answer: the operator may already be restoring the rule).
        Assert.Equal("vector(1)", JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(patched))!["spec"]!["groups"]![0]!["rules"]![0]!["expr"]!.GetValue<string>());

        await OperatorHarness.WaitUntilAsync(() => Expr() == generated, "the operator's forced apply restores its fields on the next resync");
        var managers = h.Api.Get("prometheusrules", "team-a", "agentmeter-calls")!["metadata"]!["managedFields"]!.AsArray()
            .Select(m => m!["manager"]!.GetValue<string>()).ToList();
        Assert.Contains("agentmeter-operator", managers);
    }

    [Fact]
    public async Task OneLeaderAmongTwoReplicasAndFailover()
    {
        await using var h = await OperatorHarness.StartAsync();
        var a = await h.StartReplicaAsync("replica-a");
        var b = await h.StartReplicaAsync("replica-b");
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Host(a).IsLeading || OperatorHarness.Host(b).IsLeading, "a leader");
        // Both electors go on trying the Lease (each a get per retry period): let each have several more turns.
        var leaseReads = h.Api.Requests.Count(r => r.Resource == "leases" && r.Verb == "get");
        await OperatorHarness.WaitUntilAsync(() => h.Api.Requests.Count(r => r.Resource == "leases" && r.Verb == "get") >= leaseReads + 4, "more Lease attempts of both replicas");
        Assert.True(OperatorHarness.Host(a).IsLeading ^ OperatorHarness.Host(b).IsLeading, "exactly one leader");
        var (leader, standby) = OperatorHarness.Host(a).IsLeading ? (a, b) : (b, a);
        var holder = h.Api.Get("leases", OperatorHarness.Namespace, "agentmeter-operator")!["spec"]!["holderIdentity"]!.GetValue<string>();
        Assert.Equal(OperatorHarness.Host(leader).Identity, holder);

        await h.CreateAsync(Alert("before-failover"));
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-before-failover") is not null, "leader reconciles");
        // Only the leader reads and writes resources.
        Assert.True(OperatorHarness.Host(standby).IsReady);

        await h.StopReplicaAsync(leader);
        await OperatorHarness.WaitUntilAsync(() => OperatorHarness.Host(standby).IsLeading, "standby takes over", seconds: 40);
        await h.CreateAsync(Alert("after-failover"));
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-after-failover") is not null, "new leader reconciles");
        Assert.Equal(OperatorHarness.Host(standby).Identity, h.Api.Get("leases", OperatorHarness.Namespace, "agentmeter-operator")!["spec"]!["holderIdentity"]!.GetValue<string>());
    }

    [Fact]
    public async Task ExpiredWatchIsRecoveredByRelisting()
    {
        await using var h = await OperatorHarness.StartAsync();
        var replica = await h.StartReplicaAsync();
        await h.CreateAsync(Alert("first"));
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-first") is not null, "first rule");

        // Cut the watches and keep them down while changes happen and history is compacted.
        h.Api.InjectFault(r => r.Verb == "watch" && r.Resource == "usagealerts" && !r.FromTest, 503, "ServiceUnavailable", times: 2);
        h.Api.DropWatches();
        await h.CreateAsync(Alert("while-away"));
        await h.DeleteAsync("usagealerts", "team-a", "first");
        h.Api.ExpireWatchHistory();

        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-while-away") is not null, "rule for the alert created while the watch was down");
        await OperatorHarness.WaitUntilAsync(() => !h.ResourcesYaml().Contains("name: first"), "deleted alert gone from the ConfigMap");
        var metrics = replica.Services.GetRequiredService<OperatorMetrics>();
        Assert.True(metrics.WatchRestarts.WithLabels("UsageAlert", "gone").Value >= 1, "a 410 Gone was seen and handled by relisting");
        Assert.True(h.Api.Requests.Count(r => r.Verb == "watch" && r.Resource == "usagealerts" && r.Status == 503) == 2, "reconnects backed off through failures");
    }

    [Fact]
    public async Task RenderPrintsExactlyWhatRunApplies()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateSecretAsync("team-b", "pd", new() { ["routing-key"] = "R0UT1NG", ["signing"] = "s3cret" }, OperatorHarness.WebhookSecretOptIn);
        var replica = await h.StartReplicaAsync(settings: new() { ["Operator:ResyncPeriod"] = "00:00:00.500" });
        await h.CreateAsync(WebhookAlert);
        await h.CreateAsync(Alert("calls", extra: "  groupBy: tool"));
        await h.CreateAsync(File.ReadAllText(Path.Combine(RepoPaths.Samples, "costrate-example.yaml")));
        await h.CreateAsync(File.ReadAllText(Path.Combine(RepoPaths.Samples, "retentionpolicy-default.yaml")));
        await OperatorHarness.WaitUntilAsync(() => h.Api.LastApplied.Count >= 7 && h.ResourcesYaml().Contains("name: calls") && h.ResourcesYaml().Contains("example-model"), "everything applied");
        await h.SettleAsync(replica);

        // The resources as kubectl get -o yaml shows them, plus the referenced Secret, go through render.
        var dir = Directory.CreateTempSubdirectory("agentmeter-render-").FullName;
        try
        {
            var docs = new[] { "usagealerts", "costrates", "retentionpolicies" }.SelectMany(h.Api.List).Cast<JsonNode>()
                .Append(h.Api.Get("secrets", "team-b", "pd")!).ToList();
            File.WriteAllText(Path.Combine(dir, "cluster.yaml"), YamlJson.WriteDocuments(docs));
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var config = new ConfigurationBuilder().AddInMemoryCollection(h.Settings()).Build();
            var exit = RenderCommand.Run(["-f", dir], stdout, stderr, config);
            Assert.True(exit == 0, stderr.ToString());

            var rendered = YamlJson.ReadDocuments(stdout.ToString()).Select(d => d.AsObject()).ToList();
            // The workload, each namespace's hand-off (team-a's ConfigMap; team-b's ConfigMap and Secret), the rules.
            Assert.Equal(["ConfigMap", "Deployment", "Service", "ServiceMonitor", "ConfigMap", "ConfigMap", "Secret", "PrometheusRule", "PrometheusRule"],
                rendered.Select(d => d["kind"]!.GetValue<string>()));
            foreach (var doc in rendered)
            {
                var key = $"{Plural(doc["kind"]!.GetValue<string>())}|{doc["metadata"]!["namespace"]!.GetValue<string>()}|{doc["metadata"]!["name"]!.GetValue<string>()}";
                Assert.True(h.Api.LastApplied.TryGetValue(key, out var applied), $"run never applied {key}");
                Assert.True(JsonNode.DeepEquals(doc, applied), $"render and run differ for {key}:\n{doc}\n---\n{applied}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task HealthReadinessAndMetricsEndpoints()
    {
        await using var h = await OperatorHarness.StartAsync();
        var replica = await h.StartReplicaAsync();
        await h.CreateAsync(Alert("calls"));
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-calls") is not null, "reconciled");
        var url = replica.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        Assert.Equal("ok", await http.GetStringAsync("/healthz"));
        Assert.Equal("ok", await http.GetStringAsync("/readyz"));
        var metrics = await http.GetStringAsync("/metrics");
        foreach (var name in new[] { "agentmeter_operator_reconcile_total", "agentmeter_operator_reconcile_duration_seconds_bucket", "agentmeter_operator_workqueue_depth", "agentmeter_operator_leader 1" })
            Assert.Contains(name, metrics);
    }

    [Fact]
    public async Task RbacGrantsEverythingTheOperatorDid()
    {
        await using var h = await OperatorHarness.StartAsync();
        await h.CreateSecretAsync("team-b", "pd", new() { ["routing-key"] = "R0UT1NG", ["signing"] = "s3cret" }, OperatorHarness.WebhookSecretOptIn);
        h.Aggregator.SetAlert("team-b", "paged", "Firing", "0.3");
        await h.StartReplicaAsync();
        await h.CreateAsync(WebhookAlert);
        await h.CreateAsync(Alert("calls"));
        await h.CreateAsync(Alert("disabled", extra: "  prometheusRule: {enabled: false}"));
        await h.CreateAsync(File.ReadAllText(Path.Combine(RepoPaths.Samples, "costrate-example.yaml")));
        await h.CreateAsync(File.ReadAllText(Path.Combine(RepoPaths.Samples, "retentionpolicy-default.yaml")));
        await OperatorHarness.WaitUntilAsync(() => h.Api.List("events").Count > 0 && h.Api.Get("prometheusrules", "team-a", "agentmeter-calls") is not null, "rules, events");
        await h.PatchSpecAsync("usagealerts", "team-a", "calls", new JsonObject { ["prometheusRule"] = new JsonObject { ["enabled"] = false } });
        await OperatorHarness.WaitUntilAsync(() => h.Api.Get("prometheusrules", "team-a", "agentmeter-calls") is null, "rule removed when disabled");
        // The Lease is renewed every RetryPeriod (1 s here); the scenario above may be quicker than that.
        await OperatorHarness.WaitUntilAsync(() => h.Api.Requests.Any(r => r.Verb == "update" && r.Resource == "leases"), "Lease renewed");

        var rbac = RbacRules.Load(RepoPaths.Rbac);
        var used = h.Api.Requests.Where(r => !r.FromTest).ToList();
        var denied = used.Where(r => !rbac.Allows(r)).Select(r => $"{r.Verb} {r.Group}/{r.Resource} in {r.Namespace ?? "(cluster)"}").Distinct().ToList();
        Assert.True(denied.Count == 0, "not granted: " + string.Join(", ", denied));
        Assert.Contains(used, r => r.Verb == "delete" && r.Resource == "prometheusrules");
        Assert.Contains(used, r => r.Verb == "patch" && r.Resource == "usagealerts/status");
        Assert.Contains(used, r => r.Verb == "create" && r.Resource == "events");
        Assert.Contains(used, r => r.Verb == "update" && r.Resource == "leases");
        // Secrets are never watched, and listed only in its own namespace (its hand-off Secrets).
        Assert.DoesNotContain(used, r => r.Resource == "secrets" && (r.Verb == "watch" || (r.Verb == "list" && r.Namespace != OperatorHarness.Namespace)));
    }


    private static string Plural(string kind) => kind switch
    {
        "ConfigMap" => "configmaps", "Secret" => "secrets", "Deployment" => "deployments", "Service" => "services",
        "ServiceMonitor" => "servicemonitors", "PrometheusRule" => "prometheusrules", _ => kind,
    };
}
