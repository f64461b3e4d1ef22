using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Retention;

/// <summary>
/// The dates one pass works against. <see cref="Today"/> is the calendar date in the policy's time
/// zone; the stored days themselves are UTC days. A day d is "older than N days" when
/// <c>d &lt; Today − N</c>, so the N + 1 most recent days (today included) stay daily and
/// <c>period=Nd</c> of the analytics API never reaches monthly data.
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
        return new RetentionCutoffs(
            today,
            today.AddDays(-spec.DailyRetentionDays),
            today.AddDays(-(spec.RawEventRetentionDays ?? spec.DailyRetentionDays)),
            // Monthly rows of the N months before the current one (and later) are kept.
            spec.MonthlyRetentionMonths is { } months ? firstOfMonth.AddMonths(-months) : null);
    }
}
