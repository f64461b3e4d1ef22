using System.Text;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Tests.Rules;

/// <summary>docs/contracts.md: what the operator hands off, per namespace, split below the API server's object cap.</summary>
public class HandOffRenderingTests
{
    private static UsageAlert Alert(string ns, string name, string? secret = null) => (UsageAlert)ResourceDocuments.Read($$"""
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec:
          metric: cost
          window: 1h
          threshold: "5"
        {{(secret is null ? "" : $"  webhooks:\n    - name: hook\n      urlSecretRef: {{name: {secret}, key: url}}\n")}}
        """, "test").Resources.Single();

    private static Renderer Renderer => new(new AggregatorOptions(), new MonitoringOptions(), "agentmeter");

    [Fact]
    public void ANamespaceBeyondOneShardIsSplitIntoNumberedConfigMapsEachUnderTheCap()
    {
        var alerts = Enumerable.Range(0, 300).Select(i => Alert("team-a", $"alert-{i:D3}")).ToList();
        var shards = ConfigRendering.ResourceShards(new RenderInput { UsageAlerts = alerts }, "team-a", "agentmeter", shardBytes: 8 * 1024);

        Assert.True(shards.Count > 3, $"{shards.Count} shards");
        Assert.Equal(Enumerable.Range(1, shards.Count).Select(i => i == 1 ? "agentmeter-resources-team-a" : $"agentmeter-resources-team-a.{i}"), shards.Select(s => s.Name));
        var names = new List<string>();
        foreach (var shard in shards)
        {
            var yaml = shard.Body["data"]![HandOff.ResourcesKey]!.GetValue<string>();
            Assert.InRange(Encoding.UTF8.GetByteCount(yaml), 1, 8 * 1024);
            Assert.Equal("resources", shard.Body["metadata"]!["labels"]![HandOff.Label]!.GetValue<string>());
            Assert.Equal("team-a", shard.Body["metadata"]!["labels"]![HandOff.SourceNamespaceLabel]!.GetValue<string>());
            var loaded = ResourceDocuments.Read(yaml, shard.Name);
            Assert.Empty(loaded.Problems);
            names.AddRange(loaded.Resources.Select(r => r.Metadata.Name));
        }
        // Every alert exactly once, in order.
        Assert.Equal(alerts.Select(a => a.Metadata.Name), names);
    }

    [Fact]
    public void TenThousandAlertsInFiveHundredNamespacesFitTheObjectCap()
    {
        var alerts = Enumerable.Range(0, 10_000).Select(i => Alert($"team-{i % 500:D3}", $"alert-{i:D5}")).ToList();
        var objects = Renderer.All(new RenderInput { UsageAlerts = alerts }, monitoringServed: false);
        var configMaps = objects.Where(o => o.Kind == ObjectKind.ConfigMap).ToList();

        Assert.Equal(501, configMaps.Count); // agentmeter-resources (cluster-scoped kinds) and one per namespace
        Assert.All(configMaps, c => Assert.True(Encoding.UTF8.GetByteCount(c.Body.ToJsonString()) < 1024 * 1024, c.Name));
        Assert.Equal(10_000, configMaps.Sum(c => ResourceDocuments.Read(c.Body["data"]![HandOff.ResourcesKey]!.GetValue<string>(), c.Name).Resources.Count));
    }

    [Fact]
    public void EachNamespacesSecretKeysGoIntoASecretOfItsOwn()
    {
        var input = new RenderInput
        {
            UsageAlerts = [Alert("team-a", "a", secret: "hook"), Alert("team-b", "b", secret: "hook"), Alert("team-c", "c")],
            WebhookSecretValues = new Dictionary<string, byte[]>
            {
                ["team-a.hook.url"] = "https://a.example/"u8.ToArray(),
                ["team-b.hook.url"] = "https://b.example/"u8.ToArray(),
            },
        };
        var secrets = Renderer.All(input, monitoringServed: false).Where(o => o.Kind == ObjectKind.Secret).ToList();

        Assert.Equal(["agentmeter-webhook-secrets-team-a", "agentmeter-webhook-secrets-team-b"], secrets.Select(s => s.Name));
        foreach (var (secret, ns) in secrets.Zip(new[] { "team-a", "team-b" }))
        {
            var data = secret.Body["data"]!.AsObject();
            Assert.Equal(["hook.url"], data.Select(kv => kv.Key));
            Assert.Equal($"https://{ns[^1]}.example/", Encoding.UTF8.GetString(Convert.FromBase64String(data["hook.url"]!.GetValue<string>())));
            Assert.Equal(ns, secret.Body["metadata"]!["labels"]![HandOff.SourceNamespaceLabel]!.GetValue<string>());
            Assert.Equal("webhook-secrets", secret.Body["metadata"]!["labels"]![HandOff.Label]!.GetValue<string>());
            Assert.Equal(OperatorOptions.FieldManager, secret.Body["metadata"]!["labels"]!["app.kubernetes.io/managed-by"]!.GetValue<string>());
        }
    }
}
