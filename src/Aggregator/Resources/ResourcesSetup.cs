namespace AgentMeter.Aggregator.Resources;

public static class ResourcesSetup
{
    /// <summary>
    /// The resources of Resources__Paths and of <paramref name="paths"/> (the command line's <c>--resources</c>), reloaded
    /// when they change, and with <c>Resources__Namespace</c> those the operator hands off in that namespace.
    /// </summary>
    public static WebApplicationBuilder AddResources(this WebApplicationBuilder builder, IEnumerable<string> paths)
    {
        var options = builder.Configuration.GetSection("Resources").Get<ResourceOptions>() ?? new ResourceOptions();
        options.Paths.AddRange(paths);
        options.Rules = new Entities.Validation.ResourceRules(builder.Configuration.GetSection("Webhooks:PagerDutyHosts").Get<List<string>>() ?? []);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<HandOffCache>();
        builder.Services.AddSingleton<ResourceStore>();
        builder.Services.AddHostedService<ResourceWatcher>();
        builder.Services.AddHostedService<HandOffWatcher>();
        return builder;
    }
}
