using AgentMeter.Aggregator.Auth;
using Cronos;
using Microsoft.AspNetCore.Mvc;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Aggregation;

/// <summary>Late tool calls of one day: received, appended to the day, still queued.</summary>
public sealed record LateDay(DateOnly Date, long Received, long Applied, long Queued, DateTimeOffset? LastSeen, DateTimeOffset? LastApplied);

/// <summary>A closed day not aggregated yet, and why: within the grace period, failed (retried), or due at the next pass.</summary>
public sealed record WaitingDay(DateOnly Date, string Reason);

public static class AggregationEndpoints
{
    /// <summary>
    /// <c>GET /api/v1/aggregation</c> (admin): settings, the last recorded pass, closed days not
    /// aggregated yet, failed days with their error and late events, late events per day, and days
    /// with clamped values.
    /// </summary>
    public static void MapAggregation(this WebApplication app)
    {
        app.MapGet("/api/v1/aggregation", async (NpgsqlDataSource db, DailyAggregator aggregator, AggregationOptions options,
            [FromServices] CronExpression schedule, TimeProvider time, CancellationToken ct) =>
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            var failures = await AggregationFailures.AllAsync(conn, ct);
            var late = (await LateDaysAsync(conn, ct)).ToDictionary(l => l.Date);
            var failed = failures.Select(f => new
            {
                date = f.Date, stage = f.Stage, error = f.Error, attempts = f.Attempts, firstFailedAt = f.FirstFailedAt,
                lastFailedAt = f.LastFailedAt, nextAttemptAt = f.NextAttemptAt, lateEvents = late.GetValueOrDefault(f.Date),
            });
            var failedDays = failures.Select(f => f.Date).ToHashSet();
            var waiting = (await aggregator.UnaggregatedDaysAsync(conn, aggregator.Today, ct)).Select(d => new WaitingDay(d,
                failedDays.Contains(d) ? "Failed" : d >= aggregator.FirstOpenDay ? "Grace" : "Pending")).ToList();
            var clamped = await conn.QueryAsync<(DateOnly Date, long Events)>(new CommandDefinition(
                "SELECT date, clamped_events FROM aggregated_days WHERE clamped_events > 0 ORDER BY date", cancellationToken: ct));
            return Results.Ok(new
            {
                schedule = options.Schedule,
                grace = options.Grace,
                passInterval = options.PassInterval,
                nextRunTime = AggregationScheduler.NextRun(schedule, options, time.GetUtcNow()),
                lastRun = await LastRunAsync(conn, ct),
                waitingDays = waiting,
                failedDays = failed,
                lateEvents = late.Values.OrderBy(l => l.Date),
                clampedEvents = clamped.Select(c => new { date = c.Date, events = c.Events }),
            });
        }).RequireAuthorization(Policies.Admin);
    }

    private static async Task<object?> LastRunAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var row = await conn.QuerySingleOrDefaultAsync<(DateTime Started, DateTime Finished, string Result, string Details)?>(new CommandDefinition(
            """
            SELECT started_at, finished_at, result, coalesce(details, '{}')::text FROM job_runs
            WHERE job = 'aggregation' AND finished_at IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1
            """, cancellationToken: ct));
        if (row is not { } r) return null;
        return new
        {
            startedAt = Utc(r.Started), finishedAt = Utc(r.Finished), result = r.Result,
            details = System.Text.Json.JsonDocument.Parse(r.Details).RootElement,
        };
    }

    private static async Task<IReadOnlyList<LateDay>> LateDaysAsync(NpgsqlConnection conn, CancellationToken ct) =>
        (await conn.QueryAsync<(DateOnly Date, long Received, long Applied, long Queued, DateTime? LastSeen, DateTime? LastApplied)>(
            new CommandDefinition(
                """
                WITH queued AS (SELECT (time AT TIME ZONE 'UTC')::date AS date, count(*) AS n FROM late_tool_calls GROUP BY 1)
                SELECT coalesce(l.date, q.date), coalesce(l.event_count, q.n), coalesce(l.applied_count, 0),
                       coalesce(q.n, 0), l.last_seen, l.last_applied
                FROM late_events l FULL JOIN queued q ON q.date = l.date
                ORDER BY 1
                """, cancellationToken: ct)))
        .Select(r => new LateDay(r.Date, r.Received, r.Applied, r.Queued,
            r.LastSeen is { } s ? Utc(s) : null, r.LastApplied is { } a ? Utc(a) : null))
        .ToList();

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));
}
