using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using Cel;
using Json.Schema;

namespace AgentMeter.Testing.FakeApi;

/// <summary>
/// What an API server does with a custom resource before storing it: apply schema defaults, validate the
/// OpenAPI schema strictly (unknown fields rejected, as <c>kubectl --validate=strict</c> does) and evaluate
/// the CEL <c>x-kubernetes-validations</c> rules at every node that carries them.
/// </summary>
public sealed class CrdSchema
{
    private readonly JsonSchema _schema;

    public string Kind { get; }
    public string Plural { get; }
    public bool Namespaced { get; }
    public JsonObject OpenApi { get; }

    private CrdSchema(JsonObject crd)
    {
        var spec = crd["spec"]!;
        Kind = spec["names"]!["kind"]!.GetValue<string>();
        Plural = spec["names"]!["plural"]!.GetValue<string>();
        Namespaced = spec["scope"]!.GetValue<string>() == "Namespaced";
        OpenApi = spec["versions"]![0]!["schema"]!["openAPIV3Schema"]!.AsObject();
        _schema = OpenApiSchema.Build(OpenApi, strict: true);
    }

    public static IReadOnlyDictionary<string, CrdSchema> LoadAll(string folder) =>
        Directory.GetFiles(folder, "*.yaml")
            .Where(f => Path.GetFileName(f) != "kustomization.yaml") // config/default builds on it; not a CRD
            .Select(f => new CrdSchema(YamlJson.ReadDocuments(File.ReadAllText(f)).Single().AsObject()))
            .ToDictionary(s => s.Kind);

    /// <summary>A copy of <paramref name="document"/> with every schema default filled in.</summary>
    public JsonObject ApplyDefaults(JsonObject document)
    {
        var copy = document.DeepClone().AsObject();
        Default(OpenApi, copy);
        return copy;
    }

    /// <summary>Every schema and CEL problem of a (defaulted) document; empty when the API server would accept it.</summary>
    public IReadOnlyList<string> Validate(JsonObject document)
    {
        var problems = OpenApiSchema.Validate(_schema, document).ToList();
        EvaluateRules(OpenApi, document, "", problems);
        return problems;
    }

    private static void Default(JsonObject schema, JsonNode? node)
    {
        if (node is JsonObject obj && schema["properties"] is JsonObject props)
        {
            foreach (var (name, child) in props)
            {
                if (!obj.ContainsKey(name) && child!["default"] is { } def) obj[name] = def.DeepClone();
                if (obj[name] is { } value) Default(child!.AsObject(), value);
            }
        }
        if (node is JsonArray arr && schema["items"] is JsonObject items)
            foreach (var item in arr) Default(items, item);
    }

    private static readonly CelEnvironment Cel = new(null!, "");

    private static void EvaluateRules(JsonObject schema, JsonNode? node, string path, List<string> problems)
    {
        if (node is null) return;
        if (schema["x-kubernetes-validations"] is JsonArray rules)
        {
            var self = new Dictionary<string, object?> { ["self"] = ToCel(node) };
            foreach (var rule in rules)
            {
                var expression = rule!["rule"]!.GetValue<string>();
                var message = rule["message"]?.GetValue<string>() ?? $"failed rule: {expression}";
                if (Cel.Program(expression, self!) is not true) problems.Add($"{path}: {message}");
            }
        }
        if (node is JsonObject obj && schema["properties"] is JsonObject props)
            foreach (var (name, child) in props)
                EvaluateRules(child!.AsObject(), obj[name], $"{path}/{name}", problems);
        if (node is JsonArray arr && schema["items"] is JsonObject items)
            for (var i = 0; i < arr.Count; i++) EvaluateRules(items, arr[i], $"{path}/{i}", problems);
    }

    private static object? ToCel(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => obj.ToDictionary(kv => kv.Key, kv => ToCel(kv.Value)),
        JsonArray arr => arr.Select(ToCel).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when v.TryGetValue<long>(out var l) => l,
            JsonValueKind.Number => v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
