using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Retention;

/// <summary>
/// The dates one pass works against. <see cref="Today"/> is the calendar date in the policy's time
/// zone; the stored days themselves are UTC days. A day d is "older than N days" when
/// <c>d &lt; Today − N</c>. Daily rows roll up by whole calendar months: a day leaves usage_stats
/// once every day of its month is older than dailyRetentionDays, so <see cref="DailyKeepFrom"/> is
/// the first day of the month holding <c>Today − N</c>. Between N + 1 and N + 31 days (today
/// included) stay daily, <c>period=Nd</c> never reaches monthly data, and a month is either wholly
/// daily or wholly monthly — which the analytics queries rely on. Raw events and monthly rows are cut
/// at their own cutoffs: raw day partitions before <see cref="RawKeepFrom"/> (<c>Today − raw days</c>),
/// monthly rows before <see cref="MonthlyKeepFrom"/>.
/// </summary>
public sealed record RetentionCutoffs(
    DateOnly Today,
    DateOnly DailyKeepFrom,
    DateOnly RawKeepFrom,
    DateOnly? MonthlyKeepFrom)
{
    public static RetentionCutoffs For(RetentionPolicySpec spec, DateTimeOffset now)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(spec.TimeZone);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        var firstOfMonth = new DateOnly(today.Year, today.Month, 1);
        var oldestDaily = today.AddDays(-spec.DailyRetentionDays);
        return new RetentionCutoffs(
            today,
            new DateOnly(oldestDaily.Year, oldestDaily.Month, 1),
            today.AddDays(-(spec.RawEventRetentionDays ?? spec.DailyRetentionDays)),
            // Monthly rows of the N months before the current one (and later) are kept.
            spec.MonthlyRetentionMonths is { } months ? firstOfMonth.AddMonths(-months) : null);
    }
}
