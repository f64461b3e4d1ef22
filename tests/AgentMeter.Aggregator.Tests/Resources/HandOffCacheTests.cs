using System.Text;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Webhooks;
using AgentMeter.Entities.Resources;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMeter.Aggregator.Tests.Resources;

/// <summary>What the aggregator takes from the watched hand-off objects (docs/contracts.md).</summary>
public class HandOffCacheTests
{
    private static readonly ResourceOptions Watching = new() { Namespace = "agentmeter" };

    private static IReadOnlyDictionary<string, byte[]> Keys(string key, string value) =>
        new Dictionary<string, byte[]> { [key] = Encoding.UTF8.GetBytes(value) };

    [Fact]
    public void AResourceReadsSecretKeysOnlyFromItsOwnNamespacesSecret()
    {
        var cache = new HandOffCache(Watching);
        cache.SetSecrets([("team-a", Keys("hook.url", "https://a.example/")), ("team-b", Keys("pd.routing-key", "B-KEY"))], replaceAll: true);
        var secrets = new SecretFiles(new WebhookOptions { SecretsPath = "/nonexistent" }, cache);

        Assert.True(secrets.TryRead("team-a", new SecretKeyRef { Name = "hook", Key = "url" }, out var url, out _));
        Assert.Equal("https://a.example/", url);
        // team-a names team-b's Secret and key: there is no such key in team-a's Secret, whatever other Secrets hold.
        Assert.False(secrets.TryRead("team-a", new SecretKeyRef { Name = "pd", Key = "routing-key" }, out var stolen, out var problem));
        Assert.Equal("", stolen);
        Assert.Contains("is not in Secret agentmeter-webhook-secrets-team-a", problem);
        Assert.DoesNotContain("B-KEY", problem);

        // A deleted Secret takes its keys with it.
        cache.SetSecrets([("team-a", null)], replaceAll: false);
        Assert.False(secrets.TryRead("team-a", new SecretKeyRef { Name = "hook", Key = "url" }, out _, out _));
    }

    [Fact]
    public void WithoutANamespaceKeysAreReadFromTheNamespacesFolder()
    {
        var folder = Directory.CreateTempSubdirectory("agentmeter-secrets-");
        try
        {
            Directory.CreateDirectory(Path.Combine(folder.FullName, "team-a"));
            File.WriteAllText(Path.Combine(folder.FullName, "team-a", "hook.url"), "https://a.example/\n");
            var secrets = new SecretFiles(new WebhookOptions { SecretsPath = folder.FullName }, new HandOffCache(new ResourceOptions()));
            Assert.True(secrets.TryRead("team-a", new SecretKeyRef { Name = "hook", Key = "url" }, out var url, out _));
            Assert.Equal("https://a.example/", url);
            Assert.False(secrets.TryRead("team-b", new SecretKeyRef { Name = "hook", Key = "url" }, out _, out var problem));
            Assert.Contains(Path.Combine("team-b", "hook.url"), problem);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void StoreReloadsWhenAWatchedConfigMapChangesOrGoes()
    {
        var cache = new HandOffCache(Watching);
        var store = new ResourceStore(Watching, NullLogger<ResourceStore>.Instance, TimeProvider.System, cache);
        const string alert = """
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: calls, namespace: team-a}
            spec: {metric: callCount, threshold: "THRESHOLD", window: 1h}
            """;
        cache.SetConfigMaps([("agentmeter-resources-team-a", alert.Replace("THRESHOLD", "10"))], replaceAll: true);
        Assert.True(store.Reload());
        Assert.Equal("10", store.Current.UsageAlerts.Single().Spec.Threshold!.ToString());

        cache.SetConfigMaps([("agentmeter-resources-team-a", alert.Replace("THRESHOLD", "20"))], replaceAll: false);
        Assert.True(store.Reload());
        Assert.Equal("20", store.Current.UsageAlerts.Single().Spec.Threshold!.ToString());
        Assert.False(store.Reload());

        cache.SetConfigMaps([("agentmeter-resources-team-a", null)], replaceAll: false);
        Assert.True(store.Reload());
        Assert.Empty(store.Current.UsageAlerts);
    }
}
