using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace AgentMeter.Entities.Serialization;

/// <summary>
/// Converts between YAML documents and <see cref="JsonNode"/> trees, keeping YAML 1.2 core-schema types
/// (a quoted "100" stays a string, a plain 100 becomes a number) so Kubernetes documents mean the same
/// as they do to kubectl.
/// </summary>
public static partial class YamlJson
{
    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();

    /// <summary>Every non-empty document of a (multi-document) YAML text.</summary>
    public static IReadOnlyList<JsonNode> ReadDocuments(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents
            .Where(d => d.RootNode is not YamlScalarNode { Value: null or "" })
            .Select(d => ToJson(d.RootNode))
            .OfType<JsonNode>()
            .ToList();
    }

    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new YamlException(node.Start, node.End, "YAML aliases are not supported in resources"),
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain) return JsonValue.Create(text);
        if (text is "" or "~" or "null" or "Null" or "NULL") return null;
        if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            return JsonValue.Create(l);
        if (Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            return JsonValue.Create(d);
        return JsonValue.Create(text);
    }

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithQuotingNecessaryStrings()
        .WithEventEmitter(next => new StringStyleEmitter(next))
        .DisableAliases()
        .Build();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}")]
    private static partial Regex DateLike();

    /// <summary>
    /// Multi-line strings (the ConfigMap's YAML, rule descriptions) as literal blocks; date-like strings quoted,
    /// since YAML 1.1 readers would turn a plain 2026-11-01 into a timestamp.
    /// </summary>
    private sealed class StringStyleEmitter(IEventEmitter next) : YamlDotNet.Serialization.EventEmitters.ChainedEventEmitter(next)
    {
        public override void Emit(ScalarEventInfo eventInfo, IEmitter emitter)
        {
            if (eventInfo.Source.Value is string text)
            {
                if (text.Contains('\n') && !text.Contains(" \n") && !text.Contains('\t')) eventInfo.Style = ScalarStyle.Literal;
                else if (DateLike().IsMatch(text)) eventInfo.Style = ScalarStyle.DoubleQuoted;
            }
            base.Emit(eventInfo, emitter);
        }
    }

    /// <summary>YAML text of a JSON tree; strings that would read back as another type are quoted.</summary>
    public static string Write(JsonNode node) => Serializer.Serialize(ToPlain(node));

    /// <summary>Multi-document YAML, documents separated by <c>---</c>.</summary>
    public static string WriteDocuments(IEnumerable<JsonNode> documents) =>
        string.Concat(documents.Select(d => "---\n" + Write(d)));

    private static object? ToPlain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => obj.ToDictionary(kv => kv.Key, kv => ToPlain(kv.Value)),
        JsonArray arr => arr.Select(ToPlain).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.String => value.GetValue<string>(),
            System.Text.Json.JsonValueKind.True => true,
            System.Text.Json.JsonValueKind.False => false,
            System.Text.Json.JsonValueKind.Number when value.TryGetValue<long>(out var l) => l,
            System.Text.Json.JsonValueKind.Number => value.GetValue<double>(),
            _ => null,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(node)),
    };
}
