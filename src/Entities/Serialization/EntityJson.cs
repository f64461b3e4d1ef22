using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AgentMeter.Entities.Resources;
using k8s;
using k8s.Models;

namespace AgentMeter.Entities.Serialization;

/// <summary>
/// JSON of the agentmeter.io kinds and of the Kubernetes objects around them, without reflection, from our own
/// source-generated context. The operator is compiled ahead of time, where reflection-based serialization does not exist;
/// the aggregator (JIT) uses the same options so both read a document the same way.
/// </summary>
public static class EntityJson
{
    /// <summary>Kubernetes conventions: camelCase, nulls left out, RFC 3339 times as the API server writes them.</summary>
    public static JsonSerializerOptions Options { get; } = Create(strict: false);

    /// <summary>Like kubectl's strict field validation: a misspelt field is an error, not silently ignored.</summary>
    public static JsonSerializerOptions Strict { get; } = Create(strict: true);

    public static JsonTypeInfo<T> Info<T>(bool strict = false) => (JsonTypeInfo<T>)(strict ? Strict : Options).GetTypeInfo(typeof(T));

    private static JsonSerializerOptions Create(bool strict)
    {
        var options = new JsonSerializerOptions
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            TypeInfoResolver = EntityJsonContext.Default,
            UnmappedMemberHandling = strict ? JsonUnmappedMemberHandling.Disallow : JsonUnmappedMemberHandling.Skip,
        };
        options.Converters.Add(new KubernetesJson.Iso8601TimeSpanConverter());
        options.Converters.Add(new KubernetesJson.KubernetesDateTimeConverter());
        options.Converters.Add(new KubernetesJson.KubernetesDateTimeOffsetConverter());
        options.MakeReadOnly();
        return options;
    }
}

[JsonSerializable(typeof(CostRate))]
[JsonSerializable(typeof(UsageAlert))]
[JsonSerializable(typeof(RetentionPolicy))]
[JsonSerializable(typeof(Budget))]
[JsonSerializable(typeof(Dictionary<string, string>))]
// The Kubernetes objects the operator renders, reads and writes, and nothing more of the client's models: a context
// holding them all (the client's own) would put every model's serializer into the operator's Native AOT binary.
[JsonSerializable(typeof(V1ObjectMeta))]
[JsonSerializable(typeof(V1Namespace))]
[JsonSerializable(typeof(V1ConfigMap))]
[JsonSerializable(typeof(V1Secret))]
[JsonSerializable(typeof(V1Service))]
[JsonSerializable(typeof(V1Deployment))]
[JsonSerializable(typeof(V1Lease))]
[JsonSerializable(typeof(Corev1Event))]
// Untyped fields of the Kubernetes models (managedFields[].fieldsV1) read as JsonElement.
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class EntityJsonContext : JsonSerializerContext;
