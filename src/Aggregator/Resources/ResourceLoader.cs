using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;

namespace AgentMeter.Aggregator.Resources;

/// <summary>
/// Finds the resource files of <c>--resources</c> and reads each with the shared
/// <see cref="ResourceDocuments.Read"/>: every bad document is reported and skipped, the rest load.
/// </summary>
public static class ResourceLoader
{
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

    public static LoadedResources LoadPaths(IEnumerable<string> paths, ResourceRules? rules = null)
    {
        var resources = new List<k8s.IKubernetesObject<k8s.Models.V1ObjectMeta>>();
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
                var loaded = ResourceDocuments.Read(File.ReadAllText(file), file, rules);
                resources.AddRange(loaded.Resources);
                problems.AddRange(loaded.Problems);
            }
        }
        return new LoadedResources(resources, problems);
    }
}
