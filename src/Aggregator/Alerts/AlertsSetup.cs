namespace AgentMeter.Aggregator.Alerts;

public static class AlertsSetup
{
    public static WebApplicationBuilder AddAlerts(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Alerts").Get<AlertOptions>() ?? new AlertOptions();
        if (options.EvaluationInterval <= TimeSpan.Zero)
            throw new InvalidOperationException($"Alerts__EvaluationInterval must be a positive time span such as 00:01:00, got {options.EvaluationInterval}");
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<AlertWindowQueries>();
        builder.Services.AddSingleton<AlertStateStore>();
        builder.Services.AddSingleton<AlertEvaluator>();
        if (options.EvaluatorEnabled) builder.Services.AddHostedService<AlertEvaluationService>();
        return builder;
    }
}
