using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Validation;
using k8s;
using k8s.Models;
using YamlDotNet.Core;

namespace AgentMeter.Entities.Serialization;

/// <summary>The resources of a YAML text that passed, and every document that did not, with why.</summary>
public sealed record LoadedResources(IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Resources, IReadOnlyList<ResourceProblem> Problems);

/// <summary>
/// Reads and writes CostRate, UsageAlert, RetentionPolicy and Budget as the YAML an SRE applies with kubectl.
/// The one reader of these documents: the aggregator (<c>--resources</c>, the mounted ConfigMap) and the
/// operator (<c>render -f</c>) load through <see cref="Read"/>, so both report the same problem the same way.
/// </summary>
public static class ResourceDocuments
{
    public static IReadOnlyList<string> Kinds { get; } = [CostRate.KindName, UsageAlert.KindName, RetentionPolicy.KindName, Budget.KindName];

    /// <summary>
    /// Loads every document of <paramref name="yaml"/>. A bad document (invalid YAML, unknown kind or field,
    /// a value of the wrong type, a validator's finding) is reported and skipped; the rest load. Documents of
    /// other API groups are reported as <see cref="ResourceProblem.Ignored"/>. Empty documents count in the
    /// index but are otherwise skipped.
    /// </summary>
    public static LoadedResources Read(string yaml, string file, ResourceRules? rules = null)
    {
        var resources = new List<IKubernetesObject<V1ObjectMeta>>();
        var problems = new List<ResourceProblem>();
        var next = 0;
        try
        {
            foreach (var doc in YamlJson.ReadStream(yaml))
            {
                next = doc.Index + 1;
                if (doc.Root is null) continue;
                var (resource, found) = Bind(doc.Root, file, doc.Index, rules);
                if (resource is not null) resources.Add(resource);
                problems.AddRange(found);
            }
        }
        catch (YamlException e)
        {
            // The parser cannot resume after a syntax error: the broken document and any after it are lost.
            problems.Add(new(file, next, null, null, null, $"line {e.Start.Line}", $"not valid YAML, this and later documents of the file are skipped: {e.Message}"));
        }
        return new LoadedResources(resources, problems);
    }

    private static string? Text(JsonNode root, params string[] path)
    {
        JsonNode? node = root;
        foreach (var step in path) node = (node as JsonObject)?[step];
        return node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;
    }

    private static (IKubernetesObject<V1ObjectMeta>?, IReadOnlyList<ResourceProblem>) Bind(JsonNode root, string file, int index, ResourceRules? rules)
    {
        var kind = Text(root, "kind");
        var apiVersion = Text(root, "apiVersion");
        var name = Text(root, "metadata", "name");
        var ns = Text(root, "metadata", "namespace");
        ResourceProblem Problem(string field, string problem, bool ignored = false) => new(file, index, kind, ns, name, field, problem, ignored);

        if (root is not JsonObject)
            return (null, [Problem("(document)", "is not a mapping with apiVersion, kind, metadata and spec")]);
        if (apiVersion is null || !apiVersion.StartsWith(CostRate.Group + "/", StringComparison.Ordinal))
            return (null, [Problem("apiVersion", $"\"{apiVersion}\" is not {CostRate.GroupVersion}", ignored: true)]);
        if (apiVersion != CostRate.GroupVersion)
            return (null, [Problem("apiVersion", $"{apiVersion} is not served; use {CostRate.GroupVersion}")]);
        try
        {
            IKubernetesObject<V1ObjectMeta>? resource = kind switch
            {
                CostRate.KindName => root.Deserialize(EntityJson.Info<CostRate>(strict: true)),
                UsageAlert.KindName => root.Deserialize(EntityJson.Info<UsageAlert>(strict: true)),
                RetentionPolicy.KindName => root.Deserialize(EntityJson.Info<RetentionPolicy>(strict: true)),
                Budget.KindName => root.Deserialize(EntityJson.Info<Budget>(strict: true)),
                _ => null,
            };
            if (resource is null)
                return (null, [Problem("kind", $"kind \"{kind}\" is not one of {string.Join(", ", Kinds)}")]);
            if (string.IsNullOrEmpty(resource.Metadata?.Name))
                return (null, [Problem("metadata.name", "is required")]);
            var found = Validate(resource, rules);
            return found.Count == 0 ? (resource, []) : (null, found.Select(f => Problem(f.Field, f.Problem)).ToList());
        }
        catch (JsonException e)
        {
            return (null, [Problem(e.Path?.TrimStart('$', '.') is { Length: > 0 } p ? p : "(document)", e.Message)]);
        }
    }

    /// <summary>Semantic problems of one resource (see the validators in <see cref="Validation"/>); <paramref name="rules"/> null: the defaults.</summary>
    public static IReadOnlyList<FieldProblem> Validate(IKubernetesObject<V1ObjectMeta> resource, ResourceRules? rules = null) => resource switch
    {
        CostRate rate => CostRateValidator.Validate(rate),
        UsageAlert alert => UsageAlertValidator.Validate(alert, rules),
        RetentionPolicy policy => RetentionPolicyValidator.Validate(policy),
        Budget budget => BudgetValidator.Validate(budget, rules),
        _ => [new FieldProblem("kind", $"{resource.Kind} is not an agentmeter.io kind")],
    };

    /// <summary>The resource as a JSON tree (nulls left out), the form written into YAML and patches.</summary>
    public static JsonObject ToJson(object resource) =>
        JsonSerializer.SerializeToNode(resource, EntityJson.Options.GetTypeInfo(resource.GetType()))!.AsObject();
}
