using AgentMeter.Aggregator.Auth;

namespace AgentMeter.Aggregator.Resources;

public static class ResourcesEndpoints
{
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
