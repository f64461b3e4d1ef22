using AgentMeter.Aggregator.Budgets;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Bench.Budgets;

/// <summary>
/// Backtest of the budget forecast on generated spend with a weekly rhythm (weekdays busy, weekends quiet), a slow
/// trend, day-to-day noise and rare spikes: for each series and month, at several days into the month, the projected
/// month total against the actual one, for the same-weekday method and for the period's run rate alone.
/// </summary>
public static class Backtest
{
    private static readonly double[] Weekday = [0.2, 1.0, 1.05, 1.0, 0.95, 0.85, 0.25]; // Sunday … Saturday

    public static void Run(int series, int months, int seed)
    {
        var random = new Random(seed);
        var start = new DateOnly(2025, 1, 1);
        var checkpoints = new[] { 3, 7, 10, 14, 21 };
        var errors = checkpoints.ToDictionary(c => c, _ => (Weekly: new List<double>(), RunRate: new List<double>()));
        for (var s = 0; s < series; s++)
        {
            var daily = Generate(random, start, start.AddMonths(months));
            // The first month only provides history.
            for (var m = 1; m < months; m++)
            {
                var first = start.AddMonths(m);
                var actual = Enumerable.Range(0, first.AddMonths(1).DayNumber - first.DayNumber).Sum(i => daily[first.AddDays(i)]);
                foreach (var c in checkpoints)
                {
                    // Noon of day c: the days before it complete, half of day c known.
                    var now = new DateTimeOffset(first.AddDays(c - 1).ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
                    var period = BudgetPeriod.At(BudgetPeriods.Month, TimeZoneInfo.Utc, now);
                    var known = daily.Where(d => d.Key < period.Today).ToDictionary(d => d.Key, d => d.Value);
                    known[period.Today] = daily[period.Today] / 2;
                    var inPeriod = known.Where(d => d.Key >= period.First).ToDictionary(d => d.Key, d => d.Value);
                    var weekly = BudgetForecast.Project(known, period, decimal.MaxValue);
                    var runRate = BudgetForecast.Project(inPeriod, period, decimal.MaxValue);
                    if (weekly.Method != BudgetForecast.SameWeekday || runRate.Method != BudgetForecast.RunRate)
                        throw new InvalidOperationException("the backtest did not exercise both methods");
                    errors[c].Weekly.Add((double)Math.Abs(weekly.Projected - actual) / (double)actual);
                    errors[c].RunRate.Add((double)Math.Abs(runRate.Projected - actual) / (double)actual);
                }
            }
        }
        Console.WriteLine($"Forecast backtest: {series} generated series × {months - 1} months, seed {seed}; MAPE of the projected month total");
        Console.WriteLine("| day of month | same weekday, last 4 weeks | run rate of the month so far |");
        Console.WriteLine("| ---: | ---: | ---: |");
        foreach (var c in checkpoints)
            Console.WriteLine($"| {c} | {100 * errors[c].Weekly.Average():F1} % | {100 * errors[c].RunRate.Average():F1} % |");
        Console.WriteLine($"| all | {100 * errors.Values.SelectMany(e => e.Weekly).Average():F1} % | {100 * errors.Values.SelectMany(e => e.RunRate).Average():F1} % |");
    }

    /// <summary>One tenant's daily spend: base level, weekly rhythm, trend, lognormal noise, a spike now and then.</summary>
    private static Dictionary<DateOnly, decimal> Generate(Random random, DateOnly from, DateOnly to)
    {
        var level = 50 + random.NextDouble() * 450;
        var trend = -0.002 + random.NextDouble() * 0.007; // per day
        var noise = 0.1 + random.NextDouble() * 0.15;
        var daily = new Dictionary<DateOnly, decimal>();
        for (var d = from; d < to; d = d.AddDays(1))
        {
            var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            var spike = random.NextDouble() < 0.01 ? 3 : 1;
            var cost = level * Math.Pow(1 + trend, d.DayNumber - from.DayNumber) * Weekday[(int)d.DayOfWeek] * Math.Exp(noise * gaussian) * spike;
            daily[d] = Math.Round((decimal)cost, 4);
        }
        return daily;
    }
}
