using AgentMeter.Entities.Domain;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Entities.Validation;

/// <summary>
/// Filter values end up inside PromQL string literals and YAML: no control characters (a newline would break or
/// extend the rule), no quotes, backslashes, backticks or braces. The CRDs carry the same rule as a pattern, so the
/// API server refuses such a value; this check covers files the aggregator reads without an API server.
/// </summary>
public static class FilterValues
{
    /// <summary>The CRD pattern for one filter value (Go RE2 and .NET read it alike).</summary>
    public const string Pattern = "^[^\\x00-\\x1F\\x7F-\\x9F\"\\\\`{}]+$";

    public const int MaxLength = 253;

    public static void Check(ProblemList p, AlertFilter? filter)
    {
        if (filter is null) return;
        foreach (var d in Dimension.All) Check(p, d.FilterValue(filter), $"spec.filter.{d.FilterField}");
    }

    private static void Check(ProblemList p, string? value, string field)
    {
        if (value is null) return;
        if (value.Length is 0 or > MaxLength) p.Add(field, $"must be 1 to {MaxLength} characters long, got {value.Length}");
        else if (value.Any(c => char.IsControl(c) || c is '"' or '\\' or '`' or '{' or '}'))
            p.Add(field, "must not contain control characters (such as a newline), quotes, backslashes, backticks or braces");
    }
}
