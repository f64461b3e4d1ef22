using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>The answer of <c>GET /api/v1/budgets/check</c>.</summary>
public sealed record CheckAnswer(bool Allow, string Decision, string? Reason, IReadOnlyList<CheckedBudget> Budgets);

/// <summary>A budget that applies to the call, with the figures a gateway needs to explain a refusal.</summary>
public sealed record CheckedBudget(string Namespace, string Name, string? State, string? Spent, string Amount, string Currency, string? PercentUsed);

/// <summary>
/// Whether a call may go ahead: it is refused when any budget that applies to it is Exceeded. A budget applies when
/// every field its filter sets equals the call's (a field the call does not give does not match). A budget never
/// evaluated (or whose last evaluation failed without figures) does not refuse: the gateway decides how to fail.
/// Nor does an evaluation of a period that has ended: a new period starts clean, also before its first evaluation.
/// </summary>
public static class BudgetCheck
{
    public static CheckAnswer Decide(IReadOnlyList<BudgetView> views, AlertFilter call, string? callerTenant, DateTimeOffset now)
    {
        List<CheckedBudget>? listed = null;
        string? hiddenDenial = null;
        var allow = true;
        foreach (var v in views)
        {
            if (!Applies(v.Filter, call)) continue;
            var exhausted = v.Evaluation is { Exhausted: true } e0 && e0.PeriodEnd > now;
            allow &= !exhausted;
            // A tenant token sees its own tenant's budgets only; a wider budget may still refuse, without its figures.
            if (callerTenant is not null && v.Filter.TenantId != callerTenant)
            {
                if (exhausted) hiddenDenial = "a budget that covers more than this tenant is exceeded";
                continue;
            }
            var e = v.Evaluation;
            (listed ??= []).Add(new CheckedBudget(v.Namespace, v.Name, e is null || e.PeriodEnd <= now ? null : e.State, BudgetEvaluation.Format(e?.Spent), v.Resource.Spec.Amount?.Text ?? "",
                v.Resource.Spec.Currency, BudgetEvaluation.Format(e?.PercentUsed)));
        }
        var reason = allow ? null
            : listed?.FirstOrDefault(b => b.State == BudgetStates.Exceeded) is { } first
                ? $"budget {first.Namespace}/{first.Name} is exceeded: spent {first.Spent} of {first.Amount} {first.Currency}"
                : hiddenDenial;
        return new CheckAnswer(allow, allow ? "allow" : "deny", reason, listed ?? (IReadOnlyList<CheckedBudget>)[]);
    }

    private static bool Applies(AlertFilter budget, AlertFilter call) =>
        Same(budget.TenantId, call.TenantId) && Same(budget.AgentId, call.AgentId) && Same(budget.UserId, call.UserId) &&
        Same(budget.Model, call.Model) && Same(budget.ServerLabel, call.ServerLabel) && Same(budget.ToolName, call.ToolName);

    private static bool Same(string? wanted, string? given) => wanted is null || wanted == given;
}
