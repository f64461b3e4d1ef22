using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Errors;
using Npgsql;

namespace AgentMeter.Aggregator.Health;

public static class HealthEndpoints
{
    /// <summary><c>/healthz</c>: the process runs. <c>/readyz</c>: migrations ran and the database answers.</summary>
    public static void MapHealth(this WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", async (HttpContext http, MigrationState migrations, NpgsqlDataSource db, ILoggerFactory logs, CancellationToken ct) =>
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
                // The error's text stays in the log: it can name hosts, users and databases.
                var traceId = ErrorAnswers.TraceId(http);
                logs.CreateLogger(typeof(HealthEndpoints)).LogWarning(e, "Not ready: the database is unreachable (trace id {TraceId})", traceId);
                return Results.Text($"database unreachable (trace id {traceId} in the aggregator's log has the details)", statusCode: 503);
            }
        });
    }
}
