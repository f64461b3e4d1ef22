using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>
/// The calendar period a budget is in at an instant, read in the budget's time zone: a day, a week (Monday to
/// Sunday), a month or a quarter. <see cref="First"/> and <see cref="End"/> are local dates (End exclusive);
/// <see cref="StartUtc"/> and <see cref="EndUtc"/> the instants of their local midnights.
/// </summary>
public sealed record BudgetPeriod(DateOnly First, DateOnly End, DateTimeOffset StartUtc, DateTimeOffset EndUtc, DateOnly Today, double DayElapsed)
{
    public static BudgetPeriod At(string period, TimeZoneInfo zone, DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var today = DateOnly.FromDateTime(local.DateTime);
        var first = period switch
        {
            BudgetPeriods.Day => today,
            BudgetPeriods.Week => today.AddDays(-(((int)today.DayOfWeek + 6) % 7)),
            BudgetPeriods.Quarter => new DateOnly(today.Year, (today.Month - 1) / 3 * 3 + 1, 1),
            _ => new DateOnly(today.Year, today.Month, 1),
        };
        var end = period switch
        {
            BudgetPeriods.Day => first.AddDays(1),
            BudgetPeriods.Week => first.AddDays(7),
            BudgetPeriods.Quarter => first.AddMonths(3),
            _ => first.AddMonths(1),
        };
        var midnight = Midnight(today, zone);
        var dayLength = Midnight(today.AddDays(1), zone) - midnight;
        return new BudgetPeriod(first, end, Midnight(first, zone), Midnight(end, zone), today,
            Math.Clamp((now - midnight) / dayLength, 0, 1));
    }

    /// <summary>The instant a local date begins; where a DST change skips midnight, the first local time that exists.</summary>
    public static DateTimeOffset Midnight(DateOnly date, TimeZoneInfo zone)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local)) local = local.AddMinutes(15);
        return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUniversalTime();
    }
}
