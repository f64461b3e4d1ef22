using AgentMeter.Aggregator.Webhooks;

namespace AgentMeter.Aggregator.Email;

public static class EmailSetup
{
    /// <summary>The mail channel of the notification outbox (delivered by the webhook dispatcher).</summary>
    public static WebApplicationBuilder AddEmail(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Email").Get<EmailOptions>() ?? new EmailOptions();
        options.Validate();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<EmailSender>();
        builder.Services.AddSingleton<INotificationChannel>(sp => sp.GetRequiredService<EmailSender>());
        return builder;
    }
}
