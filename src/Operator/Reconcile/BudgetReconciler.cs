using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Status;
using AgentMeter.Operator.Tenancy;
using k8s.Models;

namespace AgentMeter.Operator.Reconcile;

/// <summary>
/// One Budget's whole status: Ready (valid, allowed by its namespace's tenant, its Secrets readable) and StatusSynced,
/// plus the evaluation the aggregator last reported (spent, projection, state, period).
/// </summary>
public sealed class BudgetReconciler(
    ObjectApi api, StatusWriter statusWriter, Informer<Budget> budgets, BudgetTenancy tenancy, ResourceRules rules, StatusBook book,
    TimeProvider time, ILogger<BudgetReconciler> logger)
{
    public async Task ReconcileAsync(string key, CancellationToken ct)
    {
        if (budgets.Get(key) is not { Metadata.DeletionTimestamp: null } budget) return;
        var generation = budget.Metadata.Generation;
        var tenant = tenancy.Decide(budget);
        V1Condition ready;
        var problems = ResourceDocuments.Validate(budget, rules);
        if (problems.Count > 0)
        {
            var message = string.Join("; ", problems);
            logger.LogWarning("Budget {Key} is invalid, fix: {Problems}", key, message);
            ready = Conditions.Make(Conditions.Ready, false, "InvalidSpec", message, generation);
        }
        else if (!tenant.HandedOff)
        {
            logger.LogWarning("Budget {Key} is not handed to the aggregator: {Reason}", key, tenant.Message);
            ready = Conditions.Make(Conditions.Ready, false, TenantRule.ReasonNotAllowed, tenant.Message, generation);
        }
        else ready = await SecretReadiness.ReadyAsync(api, budget, tenant, ct);

        // A budget that is not handed off shows no aggregator state: a stale one could belong to another tenant.
        var handedOff = problems.Count == 0 && tenant.HandedOff;
        var state = handedOff ? book.Budget(key) : null;
        var status = new BudgetStatus
        {
            Spent = state?.Spent,
            Remaining = state?.Remaining,
            PercentUsed = state?.PercentUsed,
            Projected = state?.Projected,
            ProjectedExhaustion = state?.ProjectedExhaustion,
            State = state?.State,
            PeriodStart = state?.PeriodStart,
            PeriodEnd = state?.PeriodEnd,
            LastNotifiedThreshold = state?.LastNotifiedThreshold,
            ObservedGeneration = generation,
            Conditions = Conditions.Merge(budget.Status?.Conditions, [ready, SyncCondition(key, handedOff, generation)], time.GetUtcNow().UtcDateTime),
        };
        await statusWriter.WriteAsync(budget, budget.Status, status, Budget.Plural, ct);
    }

    private V1Condition SyncCondition(string key, bool handedOff, long? generation)
    {
        if (!handedOff)
            return Conditions.Make(Conditions.StatusSynced, false, "NotHandedOff", "the budget is not handed to the aggregator", generation);
        if (book.AggregatorError is { } error)
            return Conditions.Make(Conditions.StatusSynced, false, "AggregatorUnavailable", error, generation);
        return book.Budget(key) switch
        {
            null => Conditions.Make(Conditions.StatusSynced, false, "NotEvaluated", "the aggregator has not evaluated this budget yet", generation),
            { Error: { } evaluationError } => Conditions.Make(Conditions.StatusSynced, false, "EvaluationFailed", evaluationError, generation),
            _ => Conditions.Make(Conditions.StatusSynced, true, "Synced", "evaluation copied from the aggregator", generation),
        };
    }
}
