using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace AgentMeter.Deploy.Tests.Support;

/// <summary>
/// The upstream prometheus-operator CRDs kept in shared/schemas (beside the repository, or beside
/// one of its parent folders for a worktree): their openAPIV3Schema validates our ServiceMonitors
/// and PrometheusRules as the API server would.
/// </summary>
public static class UpstreamSchemas
{
    public static string Folder { get; } = Find();

    public static List<string> Problems(JsonObject o)
    {
        var file = Path.Combine(Folder, $"monitoring.coreos.com_{o.Kind()!.ToLowerInvariant()}s.yaml");
        Assert.True(File.Exists(file), $"no upstream schema for {o.Kind()} at {file}");
        var crd = YamlJson.Documents(File.ReadAllText(file)).Single();
        var version = o.Str("apiVersion")!.Split('/')[1];
        var schema = crd.Objects("spec.versions").Single(v => v.Str("name") == version).At("schema.openAPIV3Schema")!;
        var results = JsonSchema.FromText(WithoutKubernetesExtensions(schema).ToJsonString())
            .Evaluate(JsonSerializer.SerializeToElement(o), new EvaluationOptions { OutputFormat = OutputFormat.List });
        return results.IsValid
            ? []
            : (results.Details ?? []).Where(d => d.Errors is not null)
                .SelectMany(d => d.Errors!.Select(e => $"{o.Id()} {d.InstanceLocation}: {e.Value}")).ToList();
    }

    // x-kubernetes-* keywords steer the API server (list/map semantics), not validity; JSON Schema
    // dialects refuse unknown keywords.
    private static JsonNode WithoutKubernetesExtensions(JsonNode node) => node switch
    {
        JsonObject o => new JsonObject(o.Where(kv => !kv.Key.StartsWith("x-kubernetes-", StringComparison.Ordinal))
            .Select(kv => KeyValuePair.Create(kv.Key, kv.Value is null ? null : WithoutKubernetesExtensions(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(n => n is null ? null : WithoutKubernetesExtensions(n)).ToArray()),
        _ => node.DeepClone(),
    };

    private static string Find()
    {
        for (var dir = new DirectoryInfo(Repo.Root); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "schemas");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new InvalidOperationException($"shared/schemas (the upstream prometheus-operator CRDs) not found beside {Repo.Root} or its parents");
    }
}
