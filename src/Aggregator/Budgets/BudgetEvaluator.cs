using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Resources;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>
/// Evaluates every loaded Budget on the one replica that holds <see cref="AdvisoryLocks.BudgetEvaluation"/>: the period it is
/// in, what it spent (<see cref="BudgetSpend"/>), the projection (<see cref="BudgetForecast"/>), the state, and the
/// notifications due — the highest threshold newly reached, and once per period the projection reaching the amount.
/// What was notified is saved with the evaluation in one transaction, so a restart neither forgets nor repeats it; a
/// new period (another start) starts clean. One budget that cannot be evaluated keeps its last figures with the error.
/// </summary>
public sealed class BudgetEvaluator(
    NpgsqlDataSource db, ResourceStore resources, BudgetSpend spend, BudgetStateStore states, BudgetBook book, BudgetMetrics metrics,
    TimeProvider time, ILogger<BudgetEvaluator> log)
{
    /// <summary>One cycle; false when another replica holds the lock (the book is then read from the database).</summary>
    public async Task<bool> EvaluateAllAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        if (!await conn.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_lock(@k)", new { k = AdvisoryLocks.BudgetEvaluation }))
        {
            await RefreshAsync(ct);
            return false;
        }
        try
        {
            var now = time.GetUtcNow();
            var budgets = resources.Current.Budgets;
            var previous = await states.LoadAllAsync(ct);
            var evaluations = new List<BudgetEvaluation>(budgets.Count);
            foreach (var budget in budgets)
            {
                var key = (budget.Metadata.NamespaceProperty ?? "default", budget.Metadata.Name);
                var (evaluation, notifications) = await EvaluateAsync(budget, key.Item1, previous.GetValueOrDefault(key), now, ct);
                try
                {
                    await states.SaveAsync(budget, evaluation, notifications, ct);
                    foreach (var n in notifications)
                        log.LogInformation("Budget {Namespace}/{Name}: {Event} notification queued: {Summary}", key.Item1, key.Name, n.EventType, n.Summary);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Not saved, so not notified: the next cycle tries again with the same previous state.
                    log.LogError(e, "Budget {Namespace}/{Name}: the evaluation could not be saved: {Message}", key.Item1, key.Name, e.Message);
                    evaluation = evaluation with { Error = $"the evaluation could not be saved: {e.Message}" };
                }
                evaluations.Add(evaluation);
            }
            await states.DeleteOthersAsync(evaluations.Select(e => (e.Namespace, e.Name)).ToList(), ct);
            book.Replace(evaluations);
            metrics.Update(book.Views);
            return true;
        }
        finally
        {
            if (conn.State == System.Data.ConnectionState.Open)
                await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.BudgetEvaluation });
        }
    }

    /// <summary>Reads the evaluations another replica saved into this replica's book.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        book.Replace((await states.LoadAllAsync(ct)).Values);
        metrics.Update(book.Views);
    }

    private async Task<(BudgetEvaluation, IReadOnlyList<BudgetNotification>)> EvaluateAsync(
        Budget budget, string ns, BudgetEvaluation? previous, DateTimeOffset now, CancellationToken ct)
    {
        var s = budget.Spec;
        var name = budget.Metadata.Name;
        var amount = s.Amount?.Value ?? 0;
        BudgetPeriod period;
        Forecast forecast;
        try
        {
            if (amount <= 0) throw new InvalidOperationException("spec.amount must be more than 0");
            period = BudgetPeriod.At(s.Period, TimeZoneInfo.FindSystemTimeZoneById(s.TimeZone), now);
            var daily = await spend.DailyCostsAsync(s.Filter ?? new AlertFilter(), s.Currency, BudgetForecast.HistoryStart(period), period.Today, ct);
            forecast = BudgetForecast.Project(daily, period, amount);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning("Budget {Namespace}/{Name} cannot be evaluated: {Message}", ns, name, e.Message);
            var error = $"the budget could not be evaluated: {e.Message}";
            return (previous is not null
                ? previous with { EvaluatedAt = now, Error = error }
                : new BudgetEvaluation(ns, name, now, now, s.Currency, Math.Max(amount, 0), null, null, null, null, null, null, false, now, error), []);
        }

        // A new period starts clean: nothing notified yet.
        var same = previous is not null && previous.PeriodStart == period.StartUtc;
        var lastNotified = same ? previous!.LastNotifiedThreshold : null;
        var forecastNotified = same && previous!.ForecastNotified;
        var state = BudgetEvaluation.StateOf(forecast.Spent, forecast.Projected, amount, s);
        var evaluation = new BudgetEvaluation(ns, name, period.StartUtc, period.EndUtc, s.Currency, amount, forecast.Spent, forecast.Projected,
            forecast.Exhaustion, state, forecast.Method, lastNotified, forecastNotified, now, null);

        var notifications = new List<BudgetNotification>();
        var reached = s.Thresholds.Where(t => forecast.Spent * 100 >= t * amount).DefaultIfEmpty(0).Max();
        // One notification for the highest threshold newly reached: a jump from 40 % to 100 % says 100 %, once.
        if (reached > (lastNotified ?? 0))
        {
            notifications.Add(Notification(BudgetNotification.ThresholdEvent, reached, budget, evaluation));
            evaluation = evaluation with { LastNotifiedThreshold = reached };
        }
        if (s.Forecast && !forecastNotified && forecast.Spent < amount && forecast.Projected >= amount)
        {
            notifications.Add(Notification(BudgetNotification.ForecastEvent, null, budget, evaluation));
            evaluation = evaluation with { ForecastNotified = true };
        }
        return (evaluation, notifications);
    }

    private static BudgetNotification Notification(string eventType, int? threshold, Budget budget, BudgetEvaluation e) => new()
    {
        EventType = eventType, Namespace = e.Namespace, Budget = e.Name, Threshold = threshold,
        Amount = BudgetEvaluation.Format(e.Amount)!, Currency = e.Currency, Spent = BudgetEvaluation.Format(e.Spent)!,
        PercentUsed = BudgetEvaluation.Format(e.PercentUsed)!, Projected = BudgetEvaluation.Format(e.Projected)!,
        ProjectedExhaustion = e.ProjectedExhaustion?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        State = e.State!, Period = budget.Spec.Period, PeriodStart = e.PeriodStart, PeriodEnd = e.PeriodEnd, Filter = budget.Spec.Filter,
        EvaluatedAt = e.EvaluatedAt,
    };
}
