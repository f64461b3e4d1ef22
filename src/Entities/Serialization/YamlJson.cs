using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

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

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex JsonNumber();

    /// <summary>
    /// One document of a YAML stream: its 0-based position counting every document, empty ones included
    /// (so "document 2" is the third in the file however many are blank), the line it starts on, and its
    /// tree (null for an empty document).
    /// </summary>
    public sealed record Document(int Index, long Line, JsonNode? Root);

    /// <summary>
    /// The documents of a (multi-document) YAML text, one at a time: documents before a syntax error are
    /// returned before the <see cref="YamlException"/> (which carries the line) is thrown.
    /// </summary>
    public static IEnumerable<Document> ReadStream(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var index = 0;
        while (parser.TryConsume<DocumentStart>(out var start))
        {
            var root = parser.Accept<DocumentEnd>(out _) ? null : ReadNode(parser);
            parser.Consume<DocumentEnd>();
            yield return new Document(index++, start.Start.Line, root);
        }
    }

    /// <summary>Every non-empty document of a (multi-document) YAML text.</summary>
    public static IReadOnlyList<JsonNode> ReadDocuments(string yaml) =>
        ReadStream(yaml).Select(d => d.Root).OfType<JsonNode>().ToList();

    private static JsonNode? ReadNode(IParser parser)
    {
        if (parser.TryConsume<Scalar>(out var scalar)) return ScalarNode(scalar);
        if (parser.TryConsume<SequenceStart>(out _))
        {
            var array = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _)) array.Add(ReadNode(parser));
            return array;
        }
        if (parser.TryConsume<MappingStart>(out _))
        {
            var obj = new JsonObject();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                // A repeated key keeps its last value.
                var key = parser.Consume<Scalar>().Value;
                obj[key] = ReadNode(parser);
            }
            return obj;
        }
        if (parser.TryConsume<AnchorAlias>(out var alias))
            throw new YamlException(alias.Start, alias.End, "YAML aliases are not supported in resources");
        throw new YamlException(parser.Current!.Start, parser.Current.End, $"unexpected {parser.Current.GetType().Name}");
    }

    private static JsonNode? ScalarNode(Scalar scalar)
    {
        var text = scalar.Value;
        if (scalar.Style is not ScalarStyle.Plain) return JsonValue.Create(text);
        if (text is "" or "~" or "null" or "Null" or "NULL") return null;
        if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
        // A number JSON can spell keeps its exact text, so a plain 2.50 reaches DecimalString as "2.50", not as a double.
        if (JsonNumber().IsMatch(text)) return JsonValue.Create(JsonElement.Parse(text));
        if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            return JsonValue.Create(l);
        if (Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            return JsonValue.Create(d);
        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}")]
    private static partial Regex DateLike();

    /// <summary>
    /// Plain scalars a YAML 1.1 or 1.2 reader (kubectl's among them) would take for null, a boolean or a number.
    /// </summary>
    [GeneratedRegex(@"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF" +
                    @"|[-+]?[0-9][0-9_]*|0o[0-7]+|0x[0-9a-fA-F]+|0b[01_]+|[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?" +
                    @"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|\s*)$")]
    private static partial Regex ReadsAsOtherType();

    /// <summary>YAML text of a JSON tree; strings that would read back as another type are quoted.</summary>
    /// <remarks>
    /// Written event by event with YamlDotNet's emitter rather than its object serializer, which needs reflection
    /// that a Native AOT build (the operator) does not have.
    /// </remarks>
    public static string Write(JsonNode node)
    {
        var text = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        Emit(emitter, node);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Emit(IEmitter emitter, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                emitter.Emit(new MappingStart());
                foreach (var (key, value) in obj)
                {
                    emitter.Emit(String(key));
                    Emit(emitter, value);
                }
                emitter.Emit(new MappingEnd());
                break;
            case JsonArray array:
                emitter.Emit(new SequenceStart(null, null, isImplicit: true, SequenceStyle.Any));
                foreach (var item in array) Emit(emitter, item);
                emitter.Emit(new SequenceEnd());
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                emitter.Emit(String(value.GetValue<string>()));
                break;
            case JsonValue value when value.GetValueKind() is JsonValueKind.Number && value.TryGetValue<long>(out var l):
                emitter.Emit(Plain(l.ToString(CultureInfo.InvariantCulture)));
                break;
            case JsonValue value when value.GetValueKind() is JsonValueKind.Number:
                emitter.Emit(Plain(value.GetValue<double>().ToString("R", CultureInfo.InvariantCulture)));
                break;
            case JsonValue value when value.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                emitter.Emit(Plain(value.GetValue<bool>() ? "true" : "false"));
                break;
            default:
                emitter.Emit(Plain("null"));
                break;
        }
    }

    private static Scalar Plain(string text) => new(null, null, text, ScalarStyle.Plain, isPlainImplicit: true, isQuotedImplicit: false);

    /// <summary>
    /// Multi-line strings (the ConfigMap's YAML, rule descriptions) as literal blocks; date-like strings and strings
    /// that would read as another type quoted (YAML 1.1 readers would turn a plain 2026-11-01 into a timestamp).
    /// </summary>
    private static Scalar String(string text)
    {
        var style = ScalarStyle.Any;
        if (text.Contains('\n') && !text.Contains(" \n") && !text.Contains('\t')) style = ScalarStyle.Literal;
        else if (DateLike().IsMatch(text) || ReadsAsOtherType().IsMatch(text)) style = ScalarStyle.DoubleQuoted;
        return new Scalar(null, null, text, style, isPlainImplicit: true, isQuotedImplicit: true);
    }

    /// <summary>Multi-document YAML, documents separated by <c>---</c>.</summary>
    public static string WriteDocuments(IEnumerable<JsonNode> documents) =>
        string.Concat(documents.Select(d => "---\n" + Write(d)));
}
