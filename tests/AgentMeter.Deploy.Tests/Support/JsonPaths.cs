using System.Text.Json.Nodes;

namespace AgentMeter.Deploy.Tests.Support;

public static class JsonPaths
{
    public static string? Kind(this JsonObject o) => o.Str("kind");
    public static string? Name(this JsonObject o) => o.Str("metadata.name");
    public static string? Namespace(this JsonObject o) => o.Str("metadata.namespace");
    public static string Id(this JsonObject o) => $"{o.Kind()} {o.Namespace()}/{o.Name()}".Replace(" /", " ");

    /// <summary>The node at a dotted path (object keys only), or null.</summary>
    public static JsonNode? At(this JsonNode? node, string path)
    {
        foreach (var key in path.Split('.'))
            node = node is JsonObject o && o.TryGetPropertyValue(key, out var child) ? child : null;
        return node;
    }

    public static string? Str(this JsonNode? node, string path) =>
        node.At(path) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static IEnumerable<JsonObject> Objects(this JsonNode? node, string path) =>
        node.At(path) is JsonArray a ? a.OfType<JsonObject>() : [];

    /// <summary>Pod specs of every workload kind, with the object they belong to.</summary>
    public static IEnumerable<(JsonObject Owner, JsonObject Pod)> PodSpecs(this IEnumerable<JsonObject> objects)
    {
        foreach (var o in objects)
        {
            var pod = o.Kind() switch
            {
                "Pod" => o.At("spec"),
                "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "Job" => o.At("spec.template.spec"),
                "CronJob" => o.At("spec.jobTemplate.spec.template.spec"),
                _ => null,
            };
            if (pod is JsonObject spec)
                yield return (o, spec);
        }
    }

    public static IEnumerable<JsonObject> AllContainers(this JsonObject pod) =>
        pod.Objects("initContainers").Concat(pod.Objects("containers")).Concat(pod.Objects("ephemeralContainers"));
}
