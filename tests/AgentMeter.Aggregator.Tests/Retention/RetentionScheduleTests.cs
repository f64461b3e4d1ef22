using AgentMeter.Aggregator.Retention;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Tests.Retention;

public class RetentionScheduleTests
{
    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso, null, System.Globalization.DateTimeStyles.AssumeUniversal);

    [Theory]
    [InlineData("0 0 * * *", "UTC", "2026-11-29T12:00:00Z", "2026-11-30T00:00:00Z")]
    [InlineData("0 2 * * *", "Europe/Berlin", "2026-01-15T00:00:00Z", "2026-01-15T01:00:00Z")] // CET = UTC+1
    [InlineData("0 2 * * *", "Europe/Berlin", "2026-07-15T00:30:00Z", "2026-07-16T00:00:00Z")] // CEST = UTC+2
    [InlineData("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z")] // 02:30 skipped by DST: runs at 03:00 CEST
    [InlineData("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z")] // 02:30 happens twice that night: runs once
    [InlineData("0 3 * * 1", "America/New_York", "2026-11-29T12:00:00Z", "2026-11-30T08:00:00Z")] // Monday 03:00 EST
    public void NextRunIsTheCronExpressionReadInThePolicysTimeZone(string schedule, string zone, string now, string expected)
    {
        var spec = new RetentionPolicySpec { Schedule = schedule, TimeZone = zone };
        Assert.Equal(Utc(expected), RetentionSchedule.NextRun(spec, Utc(now)));
    }

    [Fact]
    public void TodayIsTheCalendarDateInThePolicysTimeZone()
    {
        var now = Utc("2026-03-01T23:30:00Z"); // already 2 March in Auckland (UTC+13)
        var utc = RetentionCutoffs.For(new RetentionPolicySpec(), now);
        var auckland = RetentionCutoffs.For(new RetentionPolicySpec { TimeZone = "Pacific/Auckland", DailyRetentionDays = 10, RawEventRetentionDays = 3 }, now);

        Assert.Equal(new DateOnly(2026, 3, 1), utc.Today);
        Assert.Equal(new DateOnly(2025, 12, 1), utc.DailyKeepFrom); // today − 90 = 1 December: months before it leave whole
        Assert.Equal(new DateOnly(2025, 12, 1), utc.RawKeepFrom);   // raw events default to the daily retention, by day
        Assert.Null(utc.MonthlyKeepFrom);                            // monthly rows kept forever by default

        Assert.Equal(new DateOnly(2026, 3, 2), auckland.Today);
        Assert.Equal(new DateOnly(2026, 2, 1), auckland.DailyKeepFrom);   // today − 10 = 20 February: February stays daily
        Assert.Equal(new DateOnly(2026, 2, 27), auckland.RawKeepFrom);
    }

    [Fact]
    public void MonthlyRetentionKeepsTheNMonthsBeforeTheCurrentOne()
    {
        var cutoffs = RetentionCutoffs.For(new RetentionPolicySpec { MonthlyRetentionMonths = 12 }, Utc("2026-11-29T12:00:00Z"));
        Assert.Equal(new DateOnly(2025, 11, 1), cutoffs.MonthlyKeepFrom);
    }
}
