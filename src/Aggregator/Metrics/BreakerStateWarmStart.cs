using AgentMeter.Aggregator.Database;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// After a restart, sets <c>registry_circuit_breaker_state</c> from each server's last recorded
/// transition (server_health_events), so an open breaker does not read as closed until its next event.
/// </summary>
public sealed class BreakerStateWarmStart(NpgsqlDataSource db, MigrationState migrations, RegistryMetrics metrics,
    ILogger<BreakerStateWarmStart> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        try
        {
            await using var conn = await db.OpenConnectionAsync(stoppingToken);
            var last = await conn.QueryAsync<(string Server, string State)>(new CommandDefinition(
                "SELECT DISTINCT ON (server_label) server_label, state FROM server_health_events ORDER BY server_label, time DESC",
                cancellationToken: stoppingToken));
            foreach (var (server, state) in last) metrics.CircuitBreaker(server, state);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            log.LogWarning(e, "Circuit-breaker gauges start empty: the last states could not be read ({Message})", e.Message);
        }
    }
}
