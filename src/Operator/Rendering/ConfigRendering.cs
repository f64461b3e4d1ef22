using System.Text;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Kubernetes;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Rendering;

/// <summary>
/// What the aggregator is handed (<see cref="HandOff"/>): ConfigMap <c>agentmeter-resources</c> with the cluster-scoped
/// kinds, and per namespace its UsageAlerts and Budgets in ConfigMaps <c>agentmeter-resources-&lt;ns&gt;</c> (split by
/// size) and its webhook Secret keys in Secret <c>agentmeter-webhook-secrets-&lt;ns&gt;</c>.
/// </summary>
public static class ConfigRendering
{
    /// <summary>The valid CostRates and RetentionPolicies as the YAML an SRE applied (no status, no server fields), in a stable order.</summary>
    public static DesiredObject ResourcesConfigMap(RenderInput resources, string ns)
    {
        var documents = resources.Valid.Where(r => r.Metadata.NamespaceProperty is null);
        return ConfigMap(HandOff.ResourcesConfigMap, ns, null, Yaml(documents));
    }

    /// <summary>
    /// The valid UsageAlerts and Budgets of <paramref name="sourceNs"/>, in as many ConfigMaps as it takes to keep
    /// each under <see cref="HandOff.ShardBytes"/>; none when the namespace hands off nothing.
    /// </summary>
    public static IReadOnlyList<DesiredObject> ResourceShards(RenderInput resources, string sourceNs, string ns, int shardBytes = HandOff.ShardBytes)
    {
        var shards = new List<DesiredObject>();
        var yaml = new StringBuilder();
        var bytes = 0;
        foreach (var document in Ordered(resources.Valid.Where(r => r.Metadata.NamespaceProperty == sourceNs)).Select(d => YamlJson.WriteDocuments([d])))
        {
            var size = Encoding.UTF8.GetByteCount(document);
            if (bytes > 0 && bytes + size > shardBytes) Flush();
            yaml.Append(document);
            bytes += size;
        }
        if (bytes > 0) Flush();
        return shards;

        void Flush()
        {
            shards.Add(ConfigMap(HandOff.ResourcesShard(sourceNs, shards.Count + 1), ns, sourceNs, yaml.ToString()));
            yaml.Clear();
            bytes = 0;
        }
    }

    /// <summary>
    /// Copies of the Secret keys the valid UsageAlerts and Budgets of <paramref name="sourceNs"/> reference (only of
    /// Secrets that opted in), keys <c>&lt;secret&gt;.&lt;key&gt;</c>; null when there are none.
    /// </summary>
    public static DesiredObject? WebhookSecret(RenderInput resources, string sourceNs, string ns)
    {
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var resource in resources.Valid.Where(r => r.Metadata.NamespaceProperty == sourceNs))
            foreach (var (alertNs, reference) in RenderInput.SecretReferences(resource))
                if (resources.WebhookSecretValues.TryGetValue(RenderInput.SecretValueKey(alertNs, reference), out var value))
                    data[HandOff.SecretKey(reference)] = value;
        if (data.Count == 0) return null;
        var name = HandOff.WebhookSecret(sourceNs);
        var secret = new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Type = "Opaque",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = HandOffLabels(HandOff.WebhookSecrets, sourceNs) },
            Data = data,
        };
        return new DesiredObject(ObjectKind.Secret, ns, name, ResourceDocuments.ToJson(secret));
    }

    /// <summary>Labels of a hand-off object; <paramref name="sourceNs"/> is null for the cluster-scoped ConfigMap.</summary>
    public static Dictionary<string, string> HandOffLabels(string kind, string? sourceNs)
    {
        var extra = new Dictionary<string, string> { [HandOff.Label] = kind };
        if (sourceNs is not null) extra[HandOff.SourceNamespaceLabel] = sourceNs;
        return Labels.Common(extra);
    }

    private static DesiredObject ConfigMap(string name, string ns, string? sourceNs, string yaml)
    {
        var configMap = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = HandOffLabels(HandOff.Resources, sourceNs) },
            Data = new Dictionary<string, string> { [HandOff.ResourcesKey] = yaml },
        };
        return new DesiredObject(ObjectKind.ConfigMap, ns, name, ResourceDocuments.ToJson(configMap));
    }

    private static string Yaml(IEnumerable<IKubernetesObject<V1ObjectMeta>> resources) => YamlJson.WriteDocuments(Ordered(resources));

    private static IEnumerable<JsonObject> Ordered(IEnumerable<IKubernetesObject<V1ObjectMeta>> resources) => resources
        .OrderBy(r => r.Kind, StringComparer.Ordinal)
        .ThenBy(r => r.Metadata.NamespaceProperty, StringComparer.Ordinal)
        .ThenBy(r => r.Metadata.Name, StringComparer.Ordinal)
        .Select(Clean);

    private static JsonObject Clean(IKubernetesObject<V1ObjectMeta> resource)
    {
        var json = ResourceDocuments.ToJson(resource);
        var metadata = new JsonObject { ["name"] = resource.Metadata.Name };
        if (resource.Metadata.NamespaceProperty is { } resourceNs) metadata["namespace"] = resourceNs;
        if (resource.Metadata.Labels is { Count: > 0 } labels) metadata["labels"] = ResourceDocuments.ToJson(labels);
        return new JsonObject
        {
            ["apiVersion"] = CostRate.GroupVersion,
            ["kind"] = resource.Kind,
            ["metadata"] = metadata,
            ["spec"] = json["spec"]?.DeepClone(),
        };
    }
}
