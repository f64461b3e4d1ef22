namespace AgentMeter.Aggregator.Retention;

public static class RetentionSetup
{
    public static WebApplicationBuilder AddRetention(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(builder.Configuration.GetSection("Retention").Get<RetentionOptions>() ?? new RetentionOptions());
        builder.Services.AddSingleton<RetentionPass>();
        builder.Services.AddHostedService<RetentionScheduler>();
        return builder;
    }

    /// <summary>The <c>retention</c> verb: one pass (waiting for a running one to finish), exit code 0 when it succeeded.</summary>
    public static async Task<int> RunRetentionOnceAsync(this IServiceProvider services, CancellationToken ct)
    {
        var result = await services.GetRequiredService<RetentionPass>().RunAsync(waitForLock: true, ct);
        return result is { Succeeded: true } ? 0 : 1;
    }
}
