using System.Collections.Concurrent;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Makes the day partitions of usage_events before batches need them, so the writers never wait on
/// DDL. Today's and the next <see cref="DaysAhead"/> days' are made ahead, at start and every hour:
/// real-time ingest makes none. A batch for another day makes its partition on the request's own
/// connection before it is queued (once per day and process), so a day whose partition cannot be made yet (usage_events held by
/// VACUUM, ANALYZE or DDL past the function's lock_timeout, Database/Definitions/20_event_partitions.sql) delays only the batches
/// that need it.
/// </summary>
public sealed class DayPartitions(NpgsqlDataSource db, TimeProvider time, ILogger<DayPartitions> log) : BackgroundService
{
    public const int DaysAhead = 2;
    /// <summary>Tries of 2 s each (the function's lock_timeout) before a batch is told to come back later.</summary>
    private const int Attempts = 3;
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1), RetryInterval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Days whose partitions exist (or did: retention may have dropped an old one since, and then the
    /// writer, which checks every past day again, makes it). Bounded: past the bound it starts over.
    /// </summary>
    private readonly ConcurrentDictionary<DateOnly, bool> _made = new();
    private const int MaxKnownDays = 4096;

    private DateOnly Today => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    /// <summary>Null when every day's partition exists; otherwise a day whose partition could not be made yet.</summary>
    public async Task<DateOnly?> EnsureAsync(IReadOnlyCollection<DateOnly> days, CancellationToken ct)
    {
        if (days.All(_made.ContainsKey)) return null;
        await using var conn = await db.OpenConnectionAsync(ct);
        var missing = await conn.QueryAsync<DateOnly>(new CommandDefinition(
            "SELECT d FROM unnest(@days::date[]) d WHERE to_regclass(agentmeter_event_partition_name(d)) IS NULL ORDER BY d",
            new { days = days.ToArray() }, cancellationToken: ct));
        foreach (var day in missing)
            if (!await TryMakeAsync(conn, day, ct)) return day;
        if (_made.Count + days.Count > MaxKnownDays) _made.Clear();
        foreach (var day in days) _made[day] = true;
        return null;
    }

    private async Task<bool> TryMakeAsync(NpgsqlConnection conn, DateOnly day, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await conn.ExecuteAsync(new CommandDefinition("SELECT agentmeter_ensure_event_partition(@day)", new { day }, cancellationToken: ct));
                return true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
            {
                if (attempt < Attempts) continue;
                log.LogWarning("The partition of {Day:yyyy-MM-dd} could not be made: usage_events stayed locked through {Attempts} tries " +
                               "(VACUUM, ANALYZE or DDL on it?); batches for that day are answered 503 until it can", day, Attempts);
                return false;
            }
        }
    }

    /// <summary>Today's and the next days' partitions, made ahead: at start, then every hour (every minute after a failure).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = Interval;
            try
            {
                var today = Today;
                if (await EnsureAsync([.. Enumerable.Range(0, DaysAhead + 1).Select(today.AddDays)], stoppingToken) is not null) next = RetryInterval;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                log.LogWarning(e, "Making the next days' event partitions failed; trying again in {Interval}", RetryInterval);
                next = RetryInterval;
            }
            try { await Task.Delay(next, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
