namespace AgentMeter.Entities.Serialization;

/// <summary>
/// Why a document was not loaded: where it is (file, 0-based document index as in <see cref="YamlJson.Document"/>),
/// what it is (kind, namespace, name as far as they could be read), which field is wrong and what to fix.
/// <see cref="Ignored"/> marks a document of another API group (a Secret next to the resources): it is
/// left alone on purpose, so it is information, not an error.
/// </summary>
public sealed record ResourceProblem(string File, int Document, string? Kind, string? Namespace, string? Name, string Field, string Problem, bool Ignored = false)
{
    public override string ToString()
    {
        var what = string.Join(' ', new[] { Kind, Name }.OfType<string>());
        var ns = Namespace is null ? "" : $" (namespace {Namespace})";
        return $"{File} document {Document}{ns}: {(what == "" ? "document" : what)} is {(Ignored ? "ignored" : "skipped")}, {Field}: {Problem}";
    }
}
