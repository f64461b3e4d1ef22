using System.Text.Json.Nodes;

namespace AgentMeter.Testing.FakeApi;

/// <summary>
/// The equality-based part of the API server's <c>labelSelector</c> (<c>a=b,c==d,e!=f</c>, and <c>g</c> / <c>!g</c>
/// for existence): what list and watch requests of the operator and the aggregator use.
/// </summary>
public sealed class LabelSelector
{
    private readonly List<(string Key, string? Value, bool Negated)> _terms = [];

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        foreach (var raw in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var term = raw.Replace("==", "=", StringComparison.Ordinal);
            if (term.Contains(" in ", StringComparison.Ordinal) || term.Contains(" notin ", StringComparison.Ordinal))
                throw new NotSupportedException($"fake API server: set-based selector '{raw}' is not implemented");
            if (term.IndexOf("!=", StringComparison.Ordinal) is var ne and > 0) selector._terms.Add((term[..ne], term[(ne + 2)..], true));
            else if (term.IndexOf('=') is var eq and > 0) selector._terms.Add((term[..eq], term[(eq + 1)..], false));
            else if (term.StartsWith('!')) selector._terms.Add((term[1..], null, true));
            else selector._terms.Add((term, null, false));
        }
        return selector;
    }

    public bool Matches(JsonObject obj)
    {
        var labels = obj["metadata"]?["labels"] as JsonObject;
        foreach (var (key, value, negated) in _terms)
        {
            var present = labels?[key]?.GetValue<string>();
            var match = value is null ? present is not null : present == value;
            if (match == negated) return false;
        }
        return true;
    }
}
