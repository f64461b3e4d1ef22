using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace AgentMeter.Testing.FakeApi;

/// <summary>
/// Turns a CRD's openAPIV3Schema into a JSON Schema the validator accepts: the Kubernetes <c>x-kubernetes-*</c>
/// extensions are dropped (CEL rules are evaluated separately; int-or-string is already spelled as anyOf),
/// and in strict mode unknown fields are errors, as with <c>kubectl apply --validate=strict</c>.
/// </summary>
public static class OpenApiSchema
{
    public static JsonSchema Build(JsonObject openApi, bool strict)
    {
        var copy = openApi.DeepClone().AsObject();
        Prepare(copy, strict, isMetadata: false);
        return JsonSchema.Build(JsonSerializer.Deserialize<JsonElement>(copy.ToJsonString()));
    }

    public static IReadOnlyList<string> Validate(JsonSchema schema, JsonNode document)
    {
        var result = schema.Evaluate(JsonSerializer.Deserialize<JsonElement>(document.ToJsonString()),
            new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid) return [];
        return (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))
            .DefaultIfEmpty("document does not match the schema")
            .ToList();
    }

    private static void Prepare(JsonObject schema, bool strict, bool isMetadata)
    {
        foreach (var key in schema.Select(kv => kv.Key).Where(k => k.StartsWith("x-kubernetes-", StringComparison.Ordinal)).ToList())
            schema.Remove(key);
        if (schema["properties"] is JsonObject props)
        {
            if (strict && !isMetadata && schema["additionalProperties"] is null) schema["additionalProperties"] = false;
            foreach (var (name, child) in props) Prepare(child!.AsObject(), strict, name == "metadata");
        }
        foreach (var key in new[] { "items", "additionalProperties" })
            if (schema[key] is JsonObject sub) Prepare(sub, strict, false);
        foreach (var key in new[] { "anyOf", "allOf", "oneOf" })
            if (schema[key] is JsonArray list) foreach (var sub in list.OfType<JsonObject>()) Prepare(sub, strict, false);
    }
}
