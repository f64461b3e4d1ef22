using AgentMeter.Aggregator.Webhooks;

namespace AgentMeter.Aggregator.Budgets;

public static class BudgetsSetup
{
    public static WebApplicationBuilder AddBudgets(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Budgets").Get<BudgetOptions>() ?? new BudgetOptions();
        if (options.EvaluationInterval <= TimeSpan.Zero)
            throw new InvalidOperationException($"Budgets__EvaluationInterval must be a positive time span such as 00:01:00, got {options.EvaluationInterval}");
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<BudgetSpend>();
        builder.Services.AddSingleton<BudgetStateStore>();
        builder.Services.AddSingleton<BudgetBook>();
        builder.Services.AddSingleton<BudgetMetrics>();
        builder.Services.AddSingleton<BudgetEvaluator>();
        builder.Services.AddSingleton<INotificationSource, BudgetPayloads>();
        if (options.EvaluatorEnabled) builder.Services.AddHostedService<BudgetEvaluationService>();
        return builder;
    }
}
