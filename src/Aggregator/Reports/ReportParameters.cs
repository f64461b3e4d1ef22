using System.Globalization;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Reports;

/// <summary>
/// Parses <c>/api/v1/reports/*</c> query parameters with the analytics rules (unknown or repeated
/// parameters refused, an empty tenant refused, group_by from the one dimension list); every
/// problem is a 400 naming its parameter.
/// </summary>
public static class ReportParameters
{
    public static readonly IReadOnlyList<string> Focus = ["month", "tenant"];
    public static readonly IReadOnlyList<string> Chargeback = ["month", "tenant", "group_by", "format"];

    /// <summary>The chargeback groupings: who or what a bill is split by.</summary>
    public static readonly IReadOnlyList<Dimension> ChargebackGroups = [Dimension.Tenant, Dimension.Agent, Dimension.User, Dimension.Model];

    private const string MonthAccepts = "a month YYYY-MM (UTC), not after the current one";

    public static (ReportRequest? Request, ParameterError? Error) Parse(IQueryCollection query, IReadOnlyList<string> accepted, DateOnly today)
    {
        if (AnalyticsParameters.CheckNames(query, accepted) is { } unknown) return (null, unknown);

        var monthText = AnalyticsParameters.One(query, "month");
        if (monthText is null) return Fail("month", "is missing", MonthAccepts);
        if (!DateOnly.TryParseExact(monthText, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month))
            return Fail("month", $"\"{monthText}\" is not a month", MonthAccepts);
        if (month > new DateOnly(today.Year, today.Month, 1))
            return Fail("month", $"{monthText} has not begun (today is {today:yyyy-MM-dd} UTC)", MonthAccepts);

        var tenant = AnalyticsParameters.One(query, "tenant");
        if (AnalyticsParameters.CheckTenant(tenant) is { } badTenant) return (null, badTenant);

        var groupBy = Dimension.Tenant;
        if (AnalyticsParameters.One(query, "group_by") is { } groupText)
        {
            var (found, badGroup) = AnalyticsParameters.GroupBy(groupText, ChargebackGroups);
            if (badGroup is not null) return (null, badGroup);
            groupBy = found!;
        }

        var format = ReportFormat.Csv;
        if (AnalyticsParameters.One(query, "format") is { } formatText)
        {
            if (formatText is not ("csv" or "json")) return Fail("format", $"\"{formatText}\" is not a format", "csv | json (default csv)");
            format = formatText == "json" ? ReportFormat.Json : ReportFormat.Csv;
        }
        return (new ReportRequest(month, tenant, groupBy, format), null);
    }

    private static (ReportRequest?, ParameterError?) Fail(string parameter, string problem, string accepts) =>
        (null, ParameterError.Of(parameter, problem, accepts));
}
