using System.Globalization;
using System.Text.RegularExpressions;
using AgentMeter.Entities.Domain;
using Microsoft.Extensions.Primitives;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// Parses the common query parameters of <c>/api/v1/analytics/*</c> (docs/contracts.md). Every
/// problem names its parameter and what it accepts; a parameter the endpoint does not take is a
/// problem too, so a typo never silently falls back to a default.
/// </summary>
public static partial class AnalyticsParameters
{
    public const int MaxDays = 3660;
    public const int DefaultDays = 7;
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>The parameters every endpoint takes.</summary>
    public static readonly IReadOnlyList<string> Common = ["period", "from", "to", "tenant"];
    /// <summary>The parameters of the endpoints that group (usage, costs).</summary>
    public static readonly IReadOnlyList<string> Grouped = [.. Common, "group_by", "limit"];

    private const string PeriodAccepts = $"<N>d with 1 ≤ N ≤ 3660, e.g. 7d or 30d";
    private const string DateAccepts = "a date YYYY-MM-DD (UTC, inclusive)";

    [GeneratedRegex(@"^([0-9]{1,9})d$")]
    private static partial Regex PeriodPattern();

    /// <summary>Parses the query; the tenant is returned as asked, before the caller's scope is applied.</summary>
    public static (AnalyticsRequest? Request, ParameterError? Error) Parse(IQueryCollection query, IReadOnlyList<string> accepted, DateOnly today)
    {
        if (CheckNames(query, accepted) is { } unknown) return (null, unknown);

        var period = One(query, "period");
        var fromText = One(query, "from");
        var toText = One(query, "to");
        DateOnly from, to;
        if (period is not null)
        {
            if (fromText is not null || toText is not null)
                return Fail("period", "cannot be combined with from/to", $"either period ({PeriodAccepts}) or from/to");
            var m = PeriodPattern().Match(period);
            if (!m.Success || !int.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out var days) || days is < 1 or > MaxDays)
                return Fail("period", $"\"{period}\" is not a number of days in range", PeriodAccepts);
            (from, to) = (today.AddDays(1 - days), today);
        }
        else if (fromText is null && toText is null)
        {
            (from, to) = (today.AddDays(1 - DefaultDays), today);
        }
        else
        {
            if (fromText is null)
                return Fail("from", "missing while to is given", $"{DateAccepts}, together with to (to alone has no start)");
            if (!TryDate(fromText, out from)) return Fail("from", $"\"{fromText}\" is not a date", DateAccepts);
            to = today;
            if (toText is not null && !TryDate(toText, out to)) return Fail("to", $"\"{toText}\" is not a date", DateAccepts);
            if (to < from)
                return Fail("to", $"{to:yyyy-MM-dd} is before from {from:yyyy-MM-dd}", $"{DateAccepts} on or after from");
            if (to.DayNumber - from.DayNumber + 1 > MaxDays)
                return Fail("to", $"the range {from:yyyy-MM-dd}..{to:yyyy-MM-dd} is longer than {MaxDays} days", $"{DateAccepts} at most {MaxDays} days after from");
        }

        var tenant = One(query, "tenant");
        if (CheckTenant(tenant) is { } badTenant) return (null, badTenant);

        var groupBy = Dimension.Default;
        if (One(query, "group_by") is { } groupText)
        {
            var (found, badGroup) = GroupBy(groupText, Dimension.All);
            if (badGroup is not null) return (null, badGroup);
            groupBy = found!;
        }

        var limit = DefaultLimit;
        if (One(query, "limit") is { } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
            return Fail("limit", $"\"{limitText}\" is not a whole number in range", $"a whole number from 1 to {MaxLimit} (default {DefaultLimit})");

        return (new AnalyticsRequest(from, to, tenant, groupBy, limit), null);
    }

    /// <summary>A parameter the endpoint does not take, or one given twice: never silently ignored.</summary>
    public static ParameterError? CheckNames(IQueryCollection query, IReadOnlyList<string> accepted)
    {
        foreach (var (name, values) in query)
        {
            if (!accepted.Contains(name))
                return ParameterError.Of(name, "is not a parameter of this endpoint", string.Join(", ", accepted));
            if (values.Count > 1)
                return ParameterError.Of(name, $"given {values.Count} times", "one value");
        }
        return null;
    }

    /// <summary>An empty <c>tenant=</c> is refused rather than read as "every tenant".</summary>
    public static ParameterError? CheckTenant(string? tenant) => tenant is { Length: 0 }
        ? ParameterError.Of("tenant", "is empty", "a tenant id (or leave it out for every tenant the token may read)")
        : null;

    /// <summary>The <c>group_by</c> dimension among those an endpoint offers.</summary>
    public static (Dimension? Dimension, ParameterError? Error) GroupBy(string text, IReadOnlyList<Dimension> offered) =>
        offered.FirstOrDefault(d => d.Name == text) is { } found
            ? (found, null)
            : (null, ParameterError.Of("group_by", $"\"{text}\" is not a dimension", string.Join(" | ", offered.Select(d => d.Name))));

    private static (AnalyticsRequest?, ParameterError?) Fail(string parameter, string problem, string accepts) =>
        (null, ParameterError.Of(parameter, problem, accepts));

    public static string? One(IQueryCollection query, string name) =>
        query.TryGetValue(name, out StringValues v) ? v.ToString() : null;

    private static bool TryDate(string text, out DateOnly date) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);
}
