using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Validation;
using k8s;
using k8s.Models;

namespace AgentMeter.Entities.Serialization;

/// <summary>One agentmeter.io resource read from YAML, with where it came from.</summary>
public sealed record ResourceDocument(string Source, IKubernetesObject<V1ObjectMeta> Resource);

/// <summary>A document that could not be read, with the file (and document index) and what to fix.</summary>
public sealed record DocumentProblem(string Source, string Problem)
{
    public override string ToString() => $"{Source}: {Problem}";
}

/// <summary>
/// Reads and writes CostRate, UsageAlert and RetentionPolicy as the YAML an SRE applies with kubectl.
/// Shared by the aggregator (<c>--resources</c>) and the operator (<c>render -f</c>, the ConfigMap).
/// </summary>
public static class ResourceDocuments
{
    private static readonly Dictionary<string, Func<string, IKubernetesObject<V1ObjectMeta>>> Parsers = new()
    {
        [CostRate.KindName] = json => KubernetesJson.Deserialize<CostRate>(json),
        [UsageAlert.KindName] = json => KubernetesJson.Deserialize<UsageAlert>(json),
        [RetentionPolicy.KindName] = json => KubernetesJson.Deserialize<RetentionPolicy>(json),
    };

    public static IReadOnlyCollection<string> Kinds => Parsers.Keys;

    /// <summary>Parses every document of <paramref name="yaml"/>; documents of other groups are ignored.</summary>
    public static (IReadOnlyList<ResourceDocument> Resources, IReadOnlyList<DocumentProblem> Problems) Read(string yaml, string source)
    {
        var resources = new List<ResourceDocument>();
        var problems = new List<DocumentProblem>();
        IReadOnlyList<JsonNode> documents;
        try
        {
            documents = YamlJson.ReadDocuments(yaml);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            problems.Add(new DocumentProblem(source, $"not valid YAML at line {e.Start.Line}: {e.Message}"));
            return (resources, problems);
        }
        for (var i = 0; i < documents.Count; i++)
        {
            var where = documents.Count == 1 ? source : $"{source}#{i}";
            if (documents[i] is not JsonObject doc) { problems.Add(new DocumentProblem(where, "document is not a mapping")); continue; }
            if (doc["apiVersion"]?.GetValue<string>() is not { } apiVersion || !apiVersion.StartsWith(CostRate.Group + "/", StringComparison.Ordinal))
                continue;
            if (apiVersion != CostRate.GroupVersion)
            {
                problems.Add(new DocumentProblem(where, $"apiVersion {apiVersion} is not served; use {CostRate.GroupVersion}"));
                continue;
            }
            var kind = doc["kind"]?.GetValue<string>() ?? "";
            if (!Parsers.TryGetValue(kind, out var parse))
            {
                problems.Add(new DocumentProblem(where, $"kind \"{kind}\" is not one of {string.Join(", ", Kinds)}"));
                continue;
            }
            try
            {
                var resource = parse(doc.ToJsonString());
                if (string.IsNullOrEmpty(resource.Metadata?.Name))
                    problems.Add(new DocumentProblem(where, "metadata.name is required"));
                else
                    resources.Add(new ResourceDocument(where, resource));
            }
            catch (JsonException e)
            {
                problems.Add(new DocumentProblem(where, $"{kind} {e.Path?.TrimStart('$', '.')}: {e.Message}"));
            }
        }
        return (resources, problems);
    }

    /// <summary>Semantic problems of one resource (see the validators in <see cref="Validation"/>).</summary>
    public static IReadOnlyList<FieldProblem> Validate(IKubernetesObject<V1ObjectMeta> resource) => resource switch
    {
        CostRate rate => CostRateValidator.Validate(rate),
        UsageAlert alert => UsageAlertValidator.Validate(alert),
        RetentionPolicy policy => RetentionPolicyValidator.Validate(policy),
        _ => [new FieldProblem("kind", $"{resource.Kind} is not an agentmeter.io kind")],
    };

    /// <summary>The resource as a JSON tree (nulls left out), the form written into YAML and patches.</summary>
    public static JsonObject ToJson(object resource) =>
        JsonNode.Parse(KubernetesJson.Serialize(resource))!.AsObject();
}
