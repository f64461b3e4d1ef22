using AgentMeter.Aggregator.Budgets;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Tests.Budgets;

/// <summary>Calendar periods in a time zone, and the projection's two methods.</summary>
public class BudgetForecastTests
{
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;

    [Fact]
    public void PeriodsAreCalendarPeriodsInTheBudgetsTimeZone()
    {
        // Wednesday 2026-11-18, 23:30 UTC: in Berlin already Thursday the 19th.
        var now = new DateTimeOffset(2026, 11, 18, 23, 30, 0, TimeSpan.Zero);
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var week = BudgetPeriod.At(BudgetPeriods.Week, Utc, now);
        Assert.Equal((new DateOnly(2026, 11, 16), new DateOnly(2026, 11, 23)), (week.First, week.End));
        var day = BudgetPeriod.At(BudgetPeriods.Day, berlin, now);
        Assert.Equal(new DateOnly(2026, 11, 19), day.Today);
        Assert.Equal(new DateTimeOffset(2026, 11, 18, 23, 0, 0, TimeSpan.Zero), day.StartUtc);
        Assert.Equal(0.5 / 24, day.DayElapsed, 6);
        var quarter = BudgetPeriod.At(BudgetPeriods.Quarter, Utc, now);
        Assert.Equal((new DateOnly(2026, 10, 1), new DateOnly(2027, 1, 1)), (quarter.First, quarter.End));
        var month = BudgetPeriod.At(BudgetPeriods.Month, berlin, new DateTimeOffset(2026, 3, 31, 22, 30, 0, TimeSpan.Zero));
        Assert.Equal(new DateOnly(2026, 4, 1), month.First); // 00:30 on 1 April, summer time
        Assert.Equal(new DateTimeOffset(2026, 3, 31, 22, 0, 0, TimeSpan.Zero), month.StartUtc);
    }

    [Fact]
    public void TheProjectionFollowsTheWeeklyRhythmWithFourWeeksOfHistory()
    {
        // Weekdays cost 10, weekends 1, for six weeks; today is Monday 2026-11-16 at noon, a week budget.
        var today = new DateOnly(2026, 11, 16);
        var daily = Enumerable.Range(1, 42).Select(i => today.AddDays(-i))
            .ToDictionary(d => d, d => d.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 1m : 10m);
        daily[today] = 5m; // half of Monday so far
        var period = BudgetPeriod.At(BudgetPeriods.Week, Utc, new DateTimeOffset(2026, 11, 16, 12, 0, 0, TimeSpan.Zero));

        var f = BudgetForecast.Project(daily, period, amount: 48m);

        Assert.Equal(BudgetForecast.SameWeekday, f.Method);
        Assert.Equal(5m, f.Spent);
        // Rest of Monday 5, Tuesday to Friday 40, the weekend 2.
        Assert.Equal(52m, f.Projected);
        Assert.Equal(new DateOnly(2026, 11, 20), f.Exhaustion); // 5 + 5 + 4 × 10 = 50 ≥ 48 on Friday
        // A flat run rate would put this week at 5 ÷ 0.5 day × 7 = 70: the weekend makes the difference.
    }

    [Fact]
    public void WithoutFourWeeksOfHistoryThePeriodsRunRateIsUsed()
    {
        var today = new DateOnly(2026, 11, 11);
        var daily = Enumerable.Range(0, 10).ToDictionary(i => new DateOnly(2026, 11, 1).AddDays(i), _ => 10m); // 1st to 10th
        var period = BudgetPeriod.At(BudgetPeriods.Month, Utc, new DateTimeOffset(2026, 11, 11, 0, 0, 0, TimeSpan.Zero));

        var f = BudgetForecast.Project(daily, period, amount: 250m);

        Assert.Equal(BudgetForecast.RunRate, f.Method);
        Assert.Equal(100m, f.Spent);
        Assert.Equal(300m, f.Projected); // 10 a day for 30 days
        Assert.Equal(new DateOnly(2026, 11, 25), f.Exhaustion);
        Assert.Equal(today, period.Today);
    }

    [Fact]
    public void SpendPastTheAmountDatesTheExhaustionOnTheDayItHappened()
    {
        var daily = new Dictionary<DateOnly, decimal> { [new DateOnly(2026, 11, 2)] = 60m, [new DateOnly(2026, 11, 3)] = 60m };
        var period = BudgetPeriod.At(BudgetPeriods.Month, Utc, new DateTimeOffset(2026, 11, 5, 12, 0, 0, TimeSpan.Zero));
        var f = BudgetForecast.Project(daily, period, amount: 100m);
        Assert.Equal(120m, f.Spent);
        Assert.Equal(new DateOnly(2026, 11, 3), f.Exhaustion);
        Assert.True(f.Projected > f.Spent);
    }
}
