using System.Globalization;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>One evaluation of a budget (a row of <c>budget_states</c>): the period, what was spent and projected, the state, what was notified.</summary>
public sealed record BudgetEvaluation(
    string Namespace, string Name, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string Currency, decimal Amount,
    decimal? Spent, decimal? Projected, DateOnly? ProjectedExhaustion, string? State, string? ForecastMethod,
    int? LastNotifiedThreshold, bool ForecastNotified, DateTimeOffset EvaluatedAt, string? Error)
{
    public decimal? Remaining => Spent is { } s ? Math.Max(0, Amount - s) : null;
    public decimal? PercentUsed => Spent is { } s ? Math.Round(s / Amount * 100, 1) : null;
    public bool Exhausted => State == BudgetStates.Exceeded;

    /// <summary>Money as written in status and payloads: at most 4 decimals, no trailing zeros.</summary>
    public static string? Format(decimal? value) =>
        value is { } v ? (Math.Round(v, 4) / 1.0000m).ToString("0.####", CultureInfo.InvariantCulture) : null;

    /// <summary>The state for these figures: Exceeded, else ProjectedOverrun (with forecast on), else Warning from the lowest threshold on.</summary>
    public static string StateOf(decimal spent, decimal projected, decimal amount, BudgetSpec spec)
    {
        if (spent >= amount) return BudgetStates.Exceeded;
        if (spec.Forecast && projected >= amount) return BudgetStates.ProjectedOverrun;
        return spec.Thresholds.Count > 0 && spent * 100 >= spec.Thresholds.Min() * amount ? BudgetStates.Warning : BudgetStates.UnderBudget;
    }
}
