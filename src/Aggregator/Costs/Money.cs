using System.Globalization;

namespace AgentMeter.Aggregator.Costs;

/// <summary>Decimal amounts as the API shows them: exact, without the trailing zeros of numeric(24,10).</summary>
public static class Money
{
    public static decimal Normalize(decimal value) => value / 1.0000000000000000000000000000m;

    public static string? Text(decimal? value) =>
        value is { } v ? Normalize(v).ToString(CultureInfo.InvariantCulture) : null;
}
