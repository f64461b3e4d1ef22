using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Hosting;

namespace AgentMeter.Aggregator.Resources;

public static class ResourceEndpoints
{
    public static WebApplicationBuilder AddResources(this WebApplicationBuilder builder, CommandLine cli)
    {
        var options = builder.Configuration.GetSection("Resources").Get<ResourceOptions>() ?? new ResourceOptions();
        options.Paths.AddRange(cli.ResourcePaths);
        options.Rules = new Entities.Validation.ResourceRules(builder.Configuration.GetSection("Webhooks:PagerDutyHosts").Get<List<string>>() ?? []);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ResourceStore>();
        builder.Services.AddHostedService<ResourceWatcher>();
        return builder;
    }

    /// <summary><c>GET /api/v1/resources</c>: what is in force and every document that was skipped, and why.</summary>
    public static void MapResources(this WebApplication app)
    {
        var store = app.Services.GetRequiredService<ResourceStore>();
        store.Reload();
        app.MapGet("/api/v1/resources", () =>
        {
            var set = store.Current;
            return Results.Ok(new
            {
                loadedAt = set.LoadedAt,
                costRates = set.CostRates,
                usageAlerts = set.UsageAlerts,
                retentionPolicies = set.RetentionPolicies,
                budgets = set.Budgets,
                problems = set.Problems,
            });
        }).RequireAuthorization(Policies.Admin);
    }
}
