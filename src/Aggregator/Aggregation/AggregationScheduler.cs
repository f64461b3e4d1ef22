using System.Text.Json;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.SelfMonitoring;
using Cronos;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Aggregation;

/// <summary>
/// Catches up at start (after downtime), at every occurrence of Aggregation__Schedule (UTC) delayed
/// by Aggregation__Grace, and every Aggregation__PassInterval in between: every closed day past its
/// grace not yet aggregated, oldest first, failed days whose retry is due, and queued late events —
/// by the one replica holding the lock. Every replica refreshes the aggregation gauges.
/// </summary>
public sealed class AggregationScheduler(
    DailyAggregator aggregator, CronExpression schedule, AggregationOptions options, NpgsqlDataSource db, MigrationState migrations,
    AggregationMetrics metrics, SelfMetrics self, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<AggregationScheduler> log) : BackgroundService
{
    private readonly TaskCompletionSource _caughtUpAtStart = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes once the catch-up at start has run: whoever writes raw events of closed days right after
    /// start (test hosts) waits for it, or that pass may aggregate some of those days and not others.
    /// </summary>
    public Task CaughtUpAtStart => _caughtUpAtStart.Task;

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
            _caughtUpAtStart.TrySetResult();
            var now = time.GetUtcNow();
            await Task.Delay(NextRun(schedule, options, now) - now, time, stoppingToken);
        }
    }

    /// <summary>The scheduled occurrence (plus the grace) or the next periodic pass, whichever comes first.</summary>
    public static DateTimeOffset NextRun(CronExpression schedule, AggregationOptions options, DateTimeOffset now)
    {
        var periodic = now + options.PassInterval;
        var scheduled = schedule.GetNextOccurrence(now - options.Grace, TimeZoneInfo.Utc) + options.Grace;
        return scheduled is { } s && s < periodic ? s : periodic;
    }

    /// <summary>
    /// One catch-up pass; a pass that did something (or failed) is recorded in job_runs. A day that
    /// fails is recorded in aggregation_failures by the pass, which goes on with the others.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var started = time.GetUtcNow();
        var ticks = time.GetTimestamp();
        try
        {
            var result = await aggregator.CatchUpAsync(ct);
            // Null: another replica holds the lock and reports its own passes.
            if (result is not null) self.AggregationPass(time.GetUtcNow(), time.GetElapsedTime(ticks), result.Failures.Count == 0);
            if (result is { DidAnything: true })
                await RecordAsync(started, result.Failures.Count == 0 ? "Succeeded" : "Failed", new
                {
                    days = result.Days.Where(r => r.Outcome == DayOutcome.Aggregated).Select(r => r.Day.ToString("yyyy-MM-dd")),
                    failed = result.Failures.Select(f => new { day = f.Date.ToString("yyyy-MM-dd"), stage = f.Stage, error = f.Error }),
                    lateEventsApplied = result.Late.Where(l => l.Outcome == LateOutcome.Applied).Sum(l => l.Events),
                }, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "Aggregation pass failed: {Message}; the days not done are retried at the next pass", e.Message);
            self.AggregationPass(time.GetUtcNow(), time.GetElapsedTime(ticks), succeeded: false);
            await RecordAsync(started, "Failed", new { error = e.Message }, CancellationToken.None);
        }
        await metrics.RefreshAsync(ct);
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
