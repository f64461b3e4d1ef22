namespace AgentMeter.Entities.Resources;

/// <summary>
/// How the operator hands resources and webhook Secret keys to the aggregator (docs/contracts.md): objects in the
/// operator's namespace, found by label. Cluster-scoped kinds go in ConfigMap <see cref="ResourcesConfigMap"/>; the
/// UsageAlerts and Budgets of one namespace go in ConfigMaps of their own (<see cref="ResourcesShard"/>), split
/// before an object nears the API server's 1 MiB cap; the Secret keys of one namespace go in one Secret of their own
/// (<see cref="WebhookSecret"/>), so no Secret ever holds two namespaces' values.
/// </summary>
public static class HandOff
{
    /// <summary>Label on every hand-off object: <see cref="Resources"/> or <see cref="WebhookSecrets"/>.</summary>
    public const string Label = "agentmeter.io/hand-off";
    public const string Resources = "resources";
    public const string WebhookSecrets = "webhook-secrets";
    /// <summary>The label a Secret carries (value <c>"true"</c>) to let the operator copy its keys for webhooks.</summary>
    public const string OptInLabel = "agentmeter.io/webhook-secret";
    /// <summary>Label naming the namespace whose resources or Secret keys a per-namespace object holds.</summary>
    public const string SourceNamespaceLabel = "agentmeter.io/source-namespace";

    public const string ResourcesConfigMap = "agentmeter-resources";
    /// <summary>The data key of each hand-off ConfigMap: YAML documents as an SRE applied them.</summary>
    public const string ResourcesKey = "resources.yaml";
    public const string WebhookSecretPrefix = "agentmeter-webhook-secrets-";
    /// <summary>The pooled Secret of earlier versions (every namespace's keys in one): deleted by the operator.</summary>
    public const string PooledWebhookSecret = "agentmeter-webhook-secrets";

    /// <summary>Bytes of YAML one ConfigMap holds at most: below the 1 MiB object cap with room for metadata.</summary>
    public const int ShardBytes = 900 * 1024;

    /// <summary><c>agentmeter-resources-&lt;ns&gt;</c>, then <c>agentmeter-resources-&lt;ns&gt;.2</c>, <c>.3</c>… (index from 1).</summary>
    public static string ResourcesShard(string ns, int index) =>
        index == 1 ? $"{ResourcesConfigMap}-{ns}" : $"{ResourcesConfigMap}-{ns}.{index}";

    public static string WebhookSecret(string ns) => WebhookSecretPrefix + ns;

    /// <summary>The key of a referenced Secret key inside its namespace's hand-off Secret (and its file name in a folder).</summary>
    public static string SecretKey(SecretKeyRef reference) => $"{reference.Name}.{reference.Key}";

    public static string Selector(string kind) => $"{Label}={kind}";
}
