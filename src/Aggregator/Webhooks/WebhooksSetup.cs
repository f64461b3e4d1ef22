namespace AgentMeter.Aggregator.Webhooks;

public static class WebhooksSetup
{
    /// <summary>Outbox, SSRF-guarded delivery and its background dispatcher.</summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Webhooks").Get<WebhookOptions>() ?? new WebhookOptions();
        options.Validate();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<SecretFiles>();
        builder.Services.AddSingleton<TargetGuard>();
        builder.Services.AddSingleton<WebhookTargets>();
        builder.Services.AddSingleton<WebhookReadinessCache>();
        builder.Services.AddSingleton<WebhookHttp>();
        builder.Services.AddSingleton<WebhookOutbox>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddSingleton<INotificationChannel>(sp => sp.GetRequiredService<WebhookSender>());
        builder.Services.AddSingleton<WebhookDispatcher>();
        if (options.DispatcherEnabled)
            builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        return builder;
    }
}
