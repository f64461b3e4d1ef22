using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Aggregation;

/// <summary>A day the pass could not do (a row of aggregation_failures).</summary>
public sealed record DayFailure(DateOnly Date, string Stage, string Error, int Attempts, DateTimeOffset FirstFailedAt,
    DateTimeOffset LastFailedAt, DateTimeOffset NextAttemptAt);

/// <summary>
/// Days the aggregation pass failed on, with the error: the pass goes on with the days after them
/// and tries them again after a backoff — Aggregation__PassInterval doubled per failed attempt, at
/// most <see cref="MaxBackoff"/> — until they succeed.
/// </summary>
public static class AggregationFailures
{
    public const string Aggregate = "aggregate";
    public const string LateEvents = "late-events";
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    private sealed record Row(DateOnly Date, string Stage, string Error, int Attempts, DateTime FirstFailedAt, DateTime LastFailedAt, DateTime NextAttemptAt)
    {
        public DayFailure ToFailure() => new(Date, Stage, Error, Attempts, Utc(FirstFailedAt), Utc(LastFailedAt), Utc(NextAttemptAt));
        private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));
    }

    private const string Columns =
        "date AS Date, stage AS Stage, error AS Error, attempts AS Attempts, first_failed_at AS FirstFailedAt, " +
        "last_failed_at AS LastFailedAt, next_attempt_at AS NextAttemptAt";

    public static async Task<DayFailure> RecordAsync(NpgsqlConnection conn, DateOnly day, string stage, string error, DateTimeOffset now,
        TimeSpan interval, CancellationToken ct)
    {
        var attempts = 1 + await conn.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT coalesce((SELECT attempts FROM aggregation_failures WHERE date = @day AND stage = @stage), 0)", new { day, stage },
            cancellationToken: ct));
        var backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, interval.Ticks * (1L << Math.Min(attempts - 1, 20))));
        return (await conn.QuerySingleAsync<Row>(new CommandDefinition(
            $"""
            INSERT INTO aggregation_failures (date, stage, error, attempts, first_failed_at, last_failed_at, next_attempt_at)
            VALUES (@day, @stage, @error, @attempts, @now, @now, @next)
            ON CONFLICT (date) DO UPDATE SET
                first_failed_at = CASE WHEN aggregation_failures.stage = excluded.stage THEN aggregation_failures.first_failed_at ELSE excluded.first_failed_at END,
                stage = excluded.stage, error = excluded.error, attempts = excluded.attempts,
                last_failed_at = excluded.last_failed_at, next_attempt_at = excluded.next_attempt_at
            RETURNING {Columns}
            """, new { day, stage, error, attempts, now, next = now + backoff }, cancellationToken: ct))).ToFailure();
    }

    public static Task ClearAsync(NpgsqlConnection conn, DateOnly day, CancellationToken ct) =>
        conn.ExecuteAsync(new CommandDefinition("DELETE FROM aggregation_failures WHERE date = @day", new { day }, cancellationToken: ct));

    public static async Task<IReadOnlyList<DayFailure>> AllAsync(NpgsqlConnection conn, CancellationToken ct) =>
        (await conn.QueryAsync<Row>(new CommandDefinition($"SELECT {Columns} FROM aggregation_failures ORDER BY date", cancellationToken: ct)))
        .Select(r => r.ToFailure()).ToList();
}
