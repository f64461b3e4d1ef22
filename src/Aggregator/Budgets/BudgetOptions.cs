namespace AgentMeter.Aggregator.Budgets;

/// <summary>Section <c>Budgets</c>.</summary>
public sealed class BudgetOptions
{
    /// <summary>How often budgets are evaluated (and, on the replicas that do not evaluate, read back for the check endpoint).</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>Off: no background evaluation in this process (the API answers from the last evaluations read).</summary>
    public bool EvaluatorEnabled { get; set; } = true;
}
