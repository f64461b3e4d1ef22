using AgentMeter.Aggregator.Metrics;
using Dapper;
using Npgsql;
using Prometheus;

namespace AgentMeter.Aggregator.Aggregation;

/// <summary>
/// Gauges of what the aggregation could not do or had to correct, read from the database after
/// every pass (on every replica, so any one scraped tells the same).
/// </summary>
public sealed class AggregationMetrics
{
    private readonly NpgsqlDataSource _db;
    private readonly ILogger<AggregationMetrics> _log;
    private readonly Gauge _failedDays;
    private readonly Gauge _lateEvents;
    private readonly Gauge _clampedEvents;

    public AggregationMetrics(NpgsqlDataSource db, RegistryMetrics registry, ILogger<AggregationMetrics> log)
    {
        _db = db;
        _log = log;
        var f = Prometheus.Metrics.WithCustomRegistry(registry.Registry);
        _failedDays = f.CreateGauge("agentmeter_aggregation_failed_dates",
            "Days the aggregation pass failed on and retries (GET /api/v1/aggregation lists them with the error).");
        _lateEvents = f.CreateGauge("agentmeter_aggregation_late_events",
            "Tool calls that arrived after their day was aggregated: queued (waiting for the next pass) and applied (appended to " +
            "their day as correction rows; days still within raw event retention).", "state");
        _clampedEvents = f.CreateGauge("agentmeter_aggregation_clamped_events",
            "Aggregated tool calls that had a numeric field outside the stored-value bounds and were counted clamped.");
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        try
        {
            await using var conn = await _db.OpenConnectionAsync(ct);
            var (failed, queued, applied, clamped) = await conn.QuerySingleAsync<(long, long, long, long)>(new CommandDefinition(
                """
                SELECT (SELECT count(*) FROM aggregation_failures), (SELECT count(*) FROM late_tool_calls),
                       (SELECT coalesce(sum(applied_count), 0)::bigint FROM late_events),
                       (SELECT coalesce(sum(clamped_events), 0)::bigint FROM aggregated_days)
                """, cancellationToken: ct));
            _failedDays.Set(failed);
            _lateEvents.WithLabels("queued").Set(queued);
            _lateEvents.WithLabels("applied").Set(applied);
            _clampedEvents.Set(clamped);
        }
        catch (NpgsqlException e)
        {
            // The gauges keep their last values; the next pass tries again.
            _log.LogWarning("Could not refresh the aggregation gauges: {Message}", e.Message);
        }
    }
}
