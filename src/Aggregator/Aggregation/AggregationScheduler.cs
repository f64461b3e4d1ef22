using System.Text.Json;
using AgentMeter.Aggregator.Database;
using Cronos;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Aggregation;

/// <summary>
/// Catches up at start (after downtime) and then at every occurrence of Aggregation__Schedule
/// (UTC): every closed day not yet aggregated, oldest first, by the one replica holding the lock.
/// </summary>
public sealed class AggregationScheduler(
    DailyAggregator aggregator, CronExpression schedule, NpgsqlDataSource db, MigrationState migrations, TimeProvider time,
    IHostApplicationLifetime lifetime, ILogger<AggregationScheduler> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        // Every other hosted service has started (e.g. cost rates are synced) before the first pass prices a day.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            await started.Task.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            await RunAsync(stoppingToken);
            var now = time.GetUtcNow();
            var next = schedule.GetNextOccurrence(now, TimeZoneInfo.Utc);
            if (next is null) return;
            await Task.Delay(next.Value - now, time, stoppingToken);
        }
    }

    /// <summary>One catch-up pass, recorded in job_runs; a failure is logged and retried at the next occurrence.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var started = time.GetUtcNow();
        try
        {
            var results = await aggregator.CatchUpAsync(ct);
            if (results is null) return; // another replica holds the lock and does the work
            await RecordAsync(started, "Succeeded", new { days = results.Where(r => r.Outcome == DayOutcome.Aggregated).Select(r => r.Day.ToString("yyyy-MM-dd")) }, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "Daily aggregation failed; the days not done are retried at the next run");
            await RecordAsync(started, "Failed", new { error = e.Message }, CancellationToken.None);
        }
    }

    private async Task RecordAsync(DateTimeOffset started, string result, object details, CancellationToken ct)
    {
        try
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await conn.ExecuteAsync(new CommandDefinition(
                "INSERT INTO job_runs (job, started_at, finished_at, result, details) VALUES ('aggregation', @started, @finished, @result, @details::jsonb)",
                new { started = started.UtcDateTime, finished = time.GetUtcNow().UtcDateTime, result, details = JsonSerializer.Serialize(details) },
                cancellationToken: ct));
        }
        catch (NpgsqlException e)
        {
            log.LogWarning("Could not record the aggregation run: {Message}", e.Message);
        }
    }
}
