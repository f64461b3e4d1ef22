using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AgentMeter.Aggregator.Resources;

/// <summary>
/// Reads a multi-document YAML stream (what an SRE passes to kubectl apply) into one JSON tree per
/// document, typing plain scalars the way YAML 1.2 core does, so System.Text.Json can bind them.
/// </summary>
public static class YamlDocuments
{
    public sealed record Document(int Index, long Line, JsonNode? Root);

    public static IEnumerable<Document> Read(TextReader text)
    {
        var parser = new Parser(text);
        parser.Consume<StreamStart>();
        var index = 0;
        while (parser.TryConsume<DocumentStart>(out var start))
        {
            var root = parser.Accept<DocumentEnd>(out _) ? null : ReadNode(parser);
            parser.Consume<DocumentEnd>();
            yield return new Document(index++, start.Start.Line, root);
        }
    }

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
                var key = parser.Consume<Scalar>().Value;
                obj[key] = ReadNode(parser);
            }
            return obj;
        }
        if (parser.TryConsume<AnchorAlias>(out var alias))
            throw new YamlException(alias.Start, alias.End, "YAML aliases are not supported in resources");
        throw new YamlException(parser.Current!.Start, parser.Current.End, $"unexpected {parser.Current.GetType().Name}");
    }

    private static JsonNode? ScalarNode(Scalar s)
    {
        if (s.Style != ScalarStyle.Plain) return JsonValue.Create(s.Value);
        var v = s.Value;
        switch (v)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE": return JsonValue.Create(true);
            case "false" or "False" or "FALSE": return JsonValue.Create(false);
        }
        if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (decimal.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && v.Any(char.IsDigit))
            return JsonValue.Create(d);
        return JsonValue.Create(v);
    }
}
