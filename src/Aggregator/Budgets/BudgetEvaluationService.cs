using AgentMeter.Aggregator.Database;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>Runs <see cref="BudgetEvaluator"/> every <c>Budgets__EvaluationInterval</c> once migrations ran.</summary>
public sealed class BudgetEvaluationService(BudgetEvaluator evaluator, MigrationState migrations, BudgetOptions options, TimeProvider time,
    ILogger<BudgetEvaluationService> log) : RecurringJob(migrations, time, log)
{
    protected override TimeSpan Interval => options.EvaluationInterval;
    protected override string Name => "Budget evaluation";
    protected override Task RunOnceAsync(CancellationToken ct) => evaluator.EvaluateAllAsync(ct);
}
