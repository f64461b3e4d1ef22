using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Resources;
using Npgsql;

namespace AgentMeter.Aggregator.Retention;

public static class RetentionEndpoints
{
    /// <summary>
    /// <c>GET /api/v1/retention</c> (admin): the policy in force, the last finished pass and the next
    /// scheduled one — what the operator copies into the RetentionPolicy status.
    /// </summary>
    public static void MapRetention(this WebApplication app)
    {
        app.MapGet("/api/v1/retention", async (ResourceStore resources, NpgsqlDataSource db, TimeProvider time, CancellationToken ct) =>
        {
            var spec = resources.Current.Retention.Spec;
            return Results.Ok(new
            {
                policy = spec,
                lastRun = await RetentionRuns.LastAsync(db, ct),
                nextRunTime = RetentionSchedule.NextRun(spec, time.GetUtcNow()),
            });
        }).RequireAuthorization(Policies.Admin);
    }
}
