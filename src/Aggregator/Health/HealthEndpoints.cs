using AgentMeter.Aggregator.Database;
using Npgsql;

namespace AgentMeter.Aggregator.Health;

public static class HealthEndpoints
{
    /// <summary><c>/healthz</c>: the process runs. <c>/readyz</c>: migrations ran and the database answers.</summary>
    public static void MapHealth(this WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", async (MigrationState migrations, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (!migrations.Completed) return Results.Text("migrations not applied yet", statusCode: 503);
            try
            {
                await using var cmd = db.CreateCommand("SELECT 1");
                await cmd.ExecuteScalarAsync(ct);
                return Results.Text("ok");
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                return Results.Text($"database unreachable: {e.Message}", statusCode: 503);
            }
        });
    }
}
