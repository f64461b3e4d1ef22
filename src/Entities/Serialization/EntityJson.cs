using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AgentMeter.Entities.Resources;
using k8s;

namespace AgentMeter.Entities.Serialization;

/// <summary>
/// JSON of the three kinds and of the Kubernetes models, without reflection: our source-generated context first,
/// then the client's. The operator is compiled ahead of time, where reflection-based serialization does not exist;
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
            TypeInfoResolver = JsonTypeInfoResolver.Combine(EntityJsonContext.Default, SourceGenerationContext.Default),
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
// Untyped fields of the Kubernetes models (managedFields[].fieldsV1) read as JsonElement; the client's context lacks it.
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class EntityJsonContext : JsonSerializerContext;
