using System.Text.RegularExpressions;

namespace AgentMeter.Aggregator.Import;

/// <summary>
/// The validated name of the audit table or view: one or two SQL identifiers (schema.table), each
/// quoted when used, so the setting can never inject SQL.
/// </summary>
public sealed partial record ImportSource(string? Schema, string Name)
{
    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")]
    private static partial Regex Identifier();

    /// <summary>Columns the source must have.</summary>
    public static readonly string[] RequiredColumns = ["id", "time", "agent_id", "tool_name", "server_label", "status", "latency_ms"];
    /// <summary>Columns read when present (a view can add NULLs for the rest).</summary>
    public static readonly string[] OptionalColumns =
        ["user_id", "tenant_id", "model", "request_bytes", "response_bytes", "input_tokens", "output_tokens", "cached_input_tokens"];

    public static bool TryParse(string? text, out ImportSource source, out string problem)
    {
        source = null!;
        problem = "";
        var parts = (text ?? "").Split('.');
        if (parts.Length > 2 || !parts.All(p => Identifier().IsMatch(p)))
        {
            problem = $"Import__Source \"{text}\" is not a table or view name such as audit_log or registry.audit_events " +
                      "(letters, digits, _ and $, optionally one schema prefix)";
            return false;
        }
        source = parts.Length == 2 ? new ImportSource(parts[0], parts[1]) : new ImportSource(null, parts[0]);
        return true;
    }

    /// <summary>The name as written in the settings: the watermark key.</summary>
    public override string ToString() => Schema is null ? Name : $"{Schema}.{Name}";

    public string Quoted => Schema is null ? Quote(Name) : $"{Quote(Schema)}.{Quote(Name)}";

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";
}
