namespace AgentMeter.Aggregator.Budgets;

/// <summary>What a budget has spent in its period, what it will have spent at the period's end, and when the amount runs out.</summary>
public sealed record Forecast(decimal Spent, decimal Projected, DateOnly? Exhaustion, string Method);

/// <summary>
/// The projection of a budget's period (docs/budgets.md, "Forecast"). Agent traffic follows the working week, so each
/// day still to come is expected to cost what the same weekday cost on average over the last four weeks; the rest
/// of today counts at today's weekday rate for the part of the day still to run. Without four weeks of history
/// (nothing spent in the oldest of the four weeks), the period's own run rate so far (spent ÷ elapsed days) is used.
/// </summary>
public static class BudgetForecast
{
    public const string SameWeekday = "sameWeekday";
    public const string RunRate = "runRate";
    public const int HistoryDays = 28;

    /// <summary>
    /// <paramref name="daily"/>: the cost of each day (missing = nothing spent) from <see cref="HistoryStart"/> to today,
    /// today's part so far included when known.
    /// </summary>
    public static Forecast Project(IReadOnlyDictionary<DateOnly, decimal> daily, BudgetPeriod period, decimal amount)
    {
        decimal Cost(DateOnly d) => daily.GetValueOrDefault(d);
        var today = period.Today;
        var spent = 0m;
        DateOnly? exhaustion = null;
        for (var d = period.First; d <= today && d < period.End; d = d.AddDays(1))
        {
            spent += Cost(d);
            if (exhaustion is null && spent >= amount) exhaustion = d;
        }

        var oldestWeek = Enumerable.Range(HistoryDays - 6, 7).Select(i => Cost(today.AddDays(-i)));
        var weekly = oldestWeek.Any(c => c > 0);
        var elapsed = (decimal)(today.DayNumber - period.First.DayNumber) + (decimal)period.DayElapsed;
        var runRate = elapsed > 0 ? spent / elapsed : 0m;
        decimal Expected(DateOnly d)
        {
            if (!weekly) return runRate;
            // The last day before today with d's weekday, and the three before it.
            var last = today.AddDays((d.DayNumber - today.DayNumber) % 7 - 7);
            return Enumerable.Range(0, HistoryDays / 7).Sum(k => Cost(last.AddDays(-7 * k))) / (HistoryDays / 7);
        }

        var projected = spent;
        if (today < period.End)
        {
            projected += Expected(today) * (decimal)(1 - period.DayElapsed);
            if (exhaustion is null && projected >= amount) exhaustion = today;
            for (var d = today.AddDays(1); d < period.End; d = d.AddDays(1))
            {
                projected += Expected(d);
                if (exhaustion is null && projected >= amount) exhaustion = d;
            }
        }
        return new Forecast(spent, projected, exhaustion, weekly ? SameWeekday : RunRate);
    }

    /// <summary>The first day whose cost <see cref="Project"/> reads.</summary>
    public static DateOnly HistoryStart(BudgetPeriod period)
    {
        var history = period.Today.AddDays(-HistoryDays);
        return history < period.First ? history : period.First;
    }
}
