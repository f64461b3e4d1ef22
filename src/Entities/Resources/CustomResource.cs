using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace AgentMeter.Entities.Resources;

/// <summary>Common shape of the three agentmeter.io kinds: metadata, spec and a status subresource.</summary>
public abstract class CustomResource<TSpec, TStatus> : IKubernetesObject<V1ObjectMeta>, ISpec<TSpec>, IStatus<TStatus?>
    where TSpec : new()
{
    public const string Group = "agentmeter.io";
    public const string Version = "v1alpha1";
    public const string GroupVersion = Group + "/" + Version;

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public TSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public TStatus? Status { get; set; }
}

/// <summary>Status fields every kind carries (observedGeneration plus standard conditions).</summary>
public class ResourceStatus
{
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
    [JsonPropertyName("conditions")] public IList<V1Condition>? Conditions { get; set; }
}

/// <summary>Reference to one key of a Secret in the resource's namespace (the operator's namespace for cluster-scoped kinds).</summary>
public sealed class SecretKeyRef
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("key")] public string Key { get; set; } = "";
}
