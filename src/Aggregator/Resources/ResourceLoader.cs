using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Validation;
using k8s;
using YamlDotNet.Core;

namespace AgentMeter.Aggregator.Resources;

/// <summary>
/// Parses CostRate, UsageAlert and RetentionPolicy documents from files and folders. Each bad
/// document is reported (file, document, kind, name, field, problem) and skipped; the rest load.
/// </summary>
public static class ResourceLoader
{
    private static readonly JsonSerializerOptions Json = new()
    {
        // Like kubectl's strict field validation: a misspelt field is an error, not silently ignored.
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    public sealed record Loaded(IReadOnlyList<IKubernetesObject<k8s.Models.V1ObjectMeta>> Resources, IReadOnlyList<ResourceProblem> Problems);

    /// <summary>Files a path stands for: the file itself, or the YAML/JSON files directly in a folder.</summary>
    public static IEnumerable<string> Files(string path)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) return [];
        // Skip dot-entries: a mounted ConfigMap keeps its real files under ..data/ and links them in.
        return Directory.EnumerateFiles(path)
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Where(f => Path.GetExtension(f) is ".yaml" or ".yml" or ".json")
            .Order(StringComparer.Ordinal);
    }

    public static Loaded LoadPaths(IEnumerable<string> paths)
    {
        var resources = new List<IKubernetesObject<k8s.Models.V1ObjectMeta>>();
        var problems = new List<ResourceProblem>();
        foreach (var path in paths)
        {
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                problems.Add(new(path, 0, null, null, null, "--resources", "no such file or folder"));
                continue;
            }
            foreach (var file in Files(path))
            {
                using var reader = File.OpenText(file);
                var loaded = LoadText(reader, file);
                resources.AddRange(loaded.Resources);
                problems.AddRange(loaded.Problems);
            }
        }
        return new Loaded(resources, problems);
    }

    public static Loaded LoadText(TextReader text, string file)
    {
        var resources = new List<IKubernetesObject<k8s.Models.V1ObjectMeta>>();
        var problems = new List<ResourceProblem>();
        var index = 0;
        try
        {
            foreach (var doc in YamlDocuments.Read(text))
            {
                index = doc.Index;
                if (doc.Root is null) continue;
                var (resource, docProblems) = Bind(doc.Root, file, doc.Index);
                if (resource is not null) resources.Add(resource);
                problems.AddRange(docProblems);
            }
        }
        catch (YamlException e)
        {
            problems.Add(new(file, index, null, null, null, $"line {e.Start.Line}", $"not valid YAML: {e.Message}"));
        }
        return new Loaded(resources, problems);
    }

    private static string? Text(JsonNode root, params string[] path)
    {
        JsonNode? node = root;
        foreach (var step in path) node = (node as JsonObject)?[step];
        return node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;
    }

    private static (IKubernetesObject<k8s.Models.V1ObjectMeta>?, IReadOnlyList<ResourceProblem>) Bind(JsonNode root, string file, int index)
    {
        var kind = Text(root, "kind");
        var apiVersion = Text(root, "apiVersion");
        var name = Text(root, "metadata", "name");
        var ns = Text(root, "metadata", "namespace");
        ResourceProblem Problem(string field, string problem) => new(file, index, kind, ns, name, field, problem);

        if (apiVersion != CostRate.GroupVersion)
            return (null, [Problem("apiVersion", $"\"{apiVersion}\" is not {CostRate.GroupVersion}; document ignored")]);
        try
        {
            return kind switch
            {
                CostRate.KindName => Checked(root.Deserialize<CostRate>(Json)!, CostRateValidator.Validate),
                UsageAlert.KindName => Checked(root.Deserialize<UsageAlert>(Json)!, UsageAlertValidator.Validate),
                RetentionPolicy.KindName => Checked(root.Deserialize<RetentionPolicy>(Json)!, RetentionPolicyValidator.Validate),
                _ => (null, [Problem("kind", $"\"{kind}\" is not one of CostRate, UsageAlert, RetentionPolicy")]),
            };
        }
        catch (JsonException e)
        {
            return (null, [Problem(e.Path?.TrimStart('$', '.') is { Length: > 0 } p ? p : "(document)", e.Message)]);
        }

        (IKubernetesObject<k8s.Models.V1ObjectMeta>?, IReadOnlyList<ResourceProblem>) Checked<T>(T r, Func<T, IReadOnlyList<FieldProblem>> validate)
            where T : IKubernetesObject<k8s.Models.V1ObjectMeta>
        {
            var found = validate(r);
            return found.Count == 0 ? (r, []) : (null, found.Select(f => Problem(f.Field, f.Problem)).ToList());
        }
    }
}
