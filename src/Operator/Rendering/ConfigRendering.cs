using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Kubernetes;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Rendering;

/// <summary>The aggregator's configuration: ConfigMap <c>agentmeter-resources</c> and Secret <c>agentmeter-webhook-secrets</c>.</summary>
public static class ConfigRendering
{
    /// <summary>Every valid resource as the YAML an SRE applied (no status, no server fields), in a stable order.</summary>
    public static DesiredObject ResourcesConfigMap(RenderInput resources, string ns)
    {
        var documents = resources.Valid
            .OrderBy(r => r.Kind, StringComparer.Ordinal)
            .ThenBy(r => r.Metadata.NamespaceProperty, StringComparer.Ordinal)
            .ThenBy(r => r.Metadata.Name, StringComparer.Ordinal)
            .Select(Clean);
        var configMap = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta { Name = AggregatorWorkload.ResourcesConfigMap, NamespaceProperty = ns, Labels = Labels.Common() },
            Data = new Dictionary<string, string> { [AggregatorWorkload.ResourcesKey] = YamlJson.WriteDocuments(documents) },
        };
        return new DesiredObject(ObjectKind.ConfigMap, ns, AggregatorWorkload.ResourcesConfigMap, ResourceDocuments.ToJson(configMap));
    }

    /// <summary>
    /// Copies of every Secret key a valid UsageAlert or Budget references and whose Secret opted in, named
    /// <c>&lt;namespace&gt;.&lt;secret&gt;.&lt;key&gt;</c>. <see cref="WebhookSecretData"/> takes any set of alerts, so
    /// one Secret per namespace is a matter of calling it per namespace.
    /// </summary>
    public static DesiredObject WebhookSecrets(RenderInput resources, string ns)
    {
        var data = WebhookSecretData(resources, resources.Valid);
        var secret = new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Type = "Opaque",
            Metadata = new V1ObjectMeta { Name = AggregatorWorkload.WebhookSecret, NamespaceProperty = ns, Labels = Labels.Common() },
            Data = data,
        };
        return new DesiredObject(ObjectKind.Secret, ns, AggregatorWorkload.WebhookSecret, ResourceDocuments.ToJson(secret));
    }

    public static SortedDictionary<string, byte[]> WebhookSecretData(RenderInput resources, IEnumerable<IKubernetesObject<V1ObjectMeta>> alerts)
    {
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var alert in alerts)
            foreach (var (alertNs, reference) in RenderInput.SecretReferences(alert))
                if (resources.WebhookSecretValues.TryGetValue(RenderInput.SecretValueKey(alertNs, reference), out var value))
                    data[RenderInput.SecretValueKey(alertNs, reference)] = value;
        return data;
    }

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
