using AgentMeter.Entities.Domain;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>What a write stored of one batch: events new to the database, and how many were skipped as already stored.</summary>
public sealed record WriteResult(IReadOnlyList<UsageEvent> Stored, int Duplicates);

/// <summary>
/// Writes validated events into usage_events with binary COPY, inside the caller's transaction, so
/// ingest and audit import share one path. An event already stored (same event_id and time, in
/// this batch, an earlier one or another batch of the same write) is skipped; circuit_breaker
/// events also go to server_health_events.
/// </summary>
public sealed class EventWriter(TimeProvider time, ILogger<EventWriter> log)
{
    /// <summary>
    /// Creates the day partitions the events need, in their own short transactions: creating a
    /// partition locks the parent table, which must not be held for the length of a batch.
    /// </summary>
    public static async Task EnsurePartitionsAsync(NpgsqlConnection conn, IEnumerable<UsageEvent> events, CancellationToken ct)
    {
        var days = events.Select(e => DateOnly.FromDateTime(e.Time.UtcDateTime)).Distinct().ToArray();
        if (days.Length == 0) return;
        var missing = await conn.QueryAsync<DateOnly>(new CommandDefinition(
            "SELECT d FROM unnest(@days::date[]) d WHERE to_regclass(agentmeter_event_partition_name(d)) IS NULL",
            new { days }, cancellationToken: ct));
        foreach (var day in missing)
            await conn.ExecuteAsync(new CommandDefinition("SELECT agentmeter_ensure_event_partition(@day)", new { day }, cancellationToken: ct));
    }

    public async Task<WriteResult> WriteAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent> events, string source, CancellationToken ct) =>
        (await WriteAsync(conn, tx, [events], source, ct))[0];

    /// <summary>
    /// Several batches in one COPY (ingest's group commit); each batch gets its own result, as if it
    /// had been written alone after the ones before it.
    /// </summary>
    public async Task<WriteResult[]> WriteAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<IReadOnlyList<UsageEvent>> batches, string source, CancellationToken ct)
    {
        var firsts = batches.Select(FirstOfEachId).ToArray();
        var all = firsts.Length == 1 ? firsts[0] : firsts.SelectMany(b => b).ToList();
        var fresh = firsts;
        if (all.Any(e => e.EventId is not null))
            fresh = await CopySkippingStoredAsync(conn, tx, firsts, all, source, ct);
        else
            await EventCopy.CopyAsync(conn, Target(all), all, source, ct);
        var stored = fresh.Length == 1 ? fresh[0] : fresh.SelectMany(b => b).ToList();
        await WriteServerHealthAsync(conn, tx, stored, ct);
        await CountLateEventsAsync(conn, tx, stored, ct);
        return batches.Select((b, i) => new WriteResult(fresh[i], b.Count - fresh[i].Count)).ToArray();
    }

    /// <summary>
    /// The day's partition when every event falls on one day (the usual batch): COPY into it skips
    /// routing each row through the parent. Otherwise the parent, which routes them.
    /// </summary>
    private static string Target(IReadOnlyList<UsageEvent> events)
    {
        var day = events[0].Time.UtcTicks / TimeSpan.TicksPerDay;
        foreach (var e in events)
            if (e.Time.UtcTicks / TimeSpan.TicksPerDay != day) return "usage_events";
        return $"usage_events_{new DateTime(day * TimeSpan.TicksPerDay):yyyyMMdd}";
    }

    /// <summary>
    /// A re-sent event is the same (event_id, time) again: the unique index usage_events_event_id
    /// (migration 0009) stores it once. Within the batch the first one wins; events without an id are
    /// always new (and a batch with no ids at all is used as it is).
    /// </summary>
    private static IReadOnlyList<UsageEvent> FirstOfEachId(IReadOnlyList<UsageEvent> events)
    {
        if (!events.Any(e => e.EventId is not null)) return events;
        var seen = new HashSet<(string, DateTimeOffset)>();
        return events.Where(e => e.EventId is null || seen.Add((e.EventId, e.Time))).ToList();
    }

    /// <summary>
    /// Re-sent events are rare, so the batches are first copied straight into usage_events; only when
    /// the unique index refuses one (stored earlier, by a batch committed meanwhile, or by another
    /// batch of this write) does each batch in turn go through a staging table and
    /// INSERT … ON CONFLICT DO NOTHING, which says which of its events were new.
    /// </summary>
    private static async Task<IReadOnlyList<UsageEvent>[]> CopySkippingStoredAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent>[] batches, IReadOnlyList<UsageEvent> all, string source, CancellationToken ct)
    {
        await tx.SaveAsync("copy_events", ct);
        try
        {
            // The savepoint stays until the commit releases it: no round trip for it here.
            await EventCopy.CopyAsync(conn, Target(all), all, source, ct);
            return batches;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await tx.RollbackAsync("copy_events", ct);
        }
        await conn.ExecuteAsync(new CommandDefinition(
            "CREATE TEMP TABLE IF NOT EXISTS incoming_events (LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DROP",
            transaction: tx, cancellationToken: ct));
        var fresh = new IReadOnlyList<UsageEvent>[batches.Length];
        for (var i = 0; i < batches.Length; i++)
        {
            await conn.ExecuteAsync(new CommandDefinition("TRUNCATE incoming_events", transaction: tx, cancellationToken: ct));
            await EventCopy.CopyAsync(conn, "incoming_events", batches[i], source, ct);
            var stored = (await conn.QueryAsync<(string, DateTime)>(new CommandDefinition(
                "INSERT INTO usage_events SELECT * FROM incoming_events ON CONFLICT DO NOTHING RETURNING event_id, time",
                transaction: tx, cancellationToken: ct)))
                .Select(r => (r.Item1, new DateTimeOffset(r.Item2))).ToHashSet();
            fresh[i] = batches[i].Where(e => e.EventId is null || stored.Contains((e.EventId, e.Time))).ToList();
        }
        return fresh;
    }

    private static async Task WriteServerHealthAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        var breaker = events.Where(e => e.Type == EventTypes.CircuitBreaker).ToArray();
        if (breaker.Length == 0) return;
        await conn.ExecuteAsync(new CommandDefinition(
            "INSERT INTO server_health_events (time, server_label, state) SELECT * FROM unnest(@times::timestamptz[], @servers::text[], @states::text[])",
            new { times = breaker.Select(e => e.Time.UtcDateTime).ToArray(), servers = breaker.Select(e => e.ServerLabel!).ToArray(), states = breaker.Select(e => e.State!).ToArray() },
            tx, cancellationToken: ct));
    }

    /// <summary>
    /// Tool calls for a day that is already aggregated are kept in usage_events but never change
    /// that day's usage_stats: count them per day and say so in the log.
    /// </summary>
    private async Task CountLateEventsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        // Only closed days are ever aggregated: real-time batches (today's events) skip the query.
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var perDay = events.Where(e => e.Type == EventTypes.ToolCall)
            .GroupBy(e => DateOnly.FromDateTime(e.Time.UtcDateTime))
            .Where(g => g.Key < today)
            .ToDictionary(g => g.Key, g => (long)g.Count());
        if (perDay.Count == 0) return;
        var late = (await conn.QueryAsync<DateOnly>(new CommandDefinition(
            "SELECT date FROM aggregated_days WHERE date = ANY(@days::date[])", new { days = perDay.Keys.ToArray() }, tx, cancellationToken: ct))).ToList();
        if (late.Count == 0) return;
        await conn.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO late_events (date, event_count, last_seen)
            SELECT d, n, now() FROM unnest(@days::date[], @counts::bigint[]) AS x(d, n)
            ON CONFLICT (date) DO UPDATE SET event_count = late_events.event_count + excluded.event_count, last_seen = excluded.last_seen
            """,
            new { days = late.ToArray(), counts = late.Select(d => perDay[d]).ToArray() }, tx, cancellationToken: ct));
        foreach (var day in late)
            log.LogWarning("{Count} tool_call event(s) arrived for {Day:yyyy-MM-dd}, which is already aggregated: they are stored in usage_events " +
                           "but that day's usage_stats stay as they were (counted in table late_events)", perDay[day], day);
    }
}
