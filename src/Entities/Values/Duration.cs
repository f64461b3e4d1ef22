using System.Text.RegularExpressions;

namespace AgentMeter.Entities.Values;

/// <summary>Durations as written in specs and PromQL: <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>7d</c>, <c>1h30m</c>.</summary>
public static partial class Duration
{
    public const string Pattern = @"^([0-9]+(ms|s|m|h|d|w))+$";

    [GeneratedRegex(@"([0-9]+)(ms|s|m|h|d|w)")]
    private static partial Regex Part();

    [GeneratedRegex(Pattern)]
    private static partial Regex Whole();

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || !Whole().IsMatch(text)) return false;
        foreach (Match m in Part().Matches(text))
        {
            if (!long.TryParse(m.Groups[1].Value, out var n)) return false;
            value += m.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                "d" => TimeSpan.FromDays(n),
                _ => TimeSpan.FromDays(7 * n),
            };
        }
        return value > TimeSpan.Zero;
    }
}
