using System.Collections.Concurrent;
using AgentMeter.Aggregator.Database;
using AgentMeter.Entities.Domain;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>What a write stored of one batch: events new to the database, and how many were skipped as already stored.</summary>
public sealed record WriteResult(IReadOnlyList<UsageEvent> Stored, int Duplicates);

/// <summary>
/// Writes validated events into usage_events with binary COPY, in a transaction of its own, so
/// ingest and audit import share one path. An event already stored (same event_id and time, in
/// this batch, an earlier one or another batch of the same write) is skipped; circuit_breaker
/// events also go to server_health_events.
/// </summary>
public sealed class EventWriter(TimeProvider time, ILogger<EventWriter> log)
{
    /// <summary>
    /// Days from today on whose partition exists. Such a day is neither aggregated nor dropped by
    /// retention (which drops aggregated days only), so a write for it needs no query beforehand.
    /// </summary>
    private readonly ConcurrentDictionary<DateOnly, bool> _openDays = new();

    /// <summary>
    /// Stores the batches in one transaction, committed on return (<paramref name="alsoInTransaction"/>
    /// runs in it first, e.g. the importer's watermark). Each batch gets its own result, as if it
    /// had been written alone after the ones before it.
    /// </summary>
    public async Task<WriteResult[]> StoreAsync(
        NpgsqlConnection conn, IReadOnlyList<IReadOnlyList<UsageEvent>> batches, string source,
        Func<NpgsqlTransaction, WriteResult[], Task>? alsoInTransaction, CancellationToken ct)
    {
        var firsts = batches.Select(FirstOfEachId).ToArray();
        var all = firsts.Length == 1 ? firsts[0] : firsts.SelectMany(b => b).ToList();
        var days = all.Select(e => DateOnly.FromDateTime(e.Time.UtcDateTime)).ToHashSet();
        await PrepareDaysAsync(conn, days, ct);
        var tx = await conn.BeginTransactionAsync(ct);
        try
        {
            var fresh = firsts;
            try
            {
                // Re-sent events are rare: the events are copied straight in (no savepoint, so no
                // round trip before the COPY).
                if (all.Count > 0) await EventCopy.CopyAsync(conn, Target(days), all, source, ct);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // Nothing else is in the transaction yet: start again, through the staging table.
                await tx.RollbackAsync(ct);
                await tx.DisposeAsync();
                tx = await conn.BeginTransactionAsync(ct);
                fresh = await InsertNewAsync(conn, tx, firsts, source, ct);
            }
            var stored = fresh.Length == 1 ? fresh[0] : fresh.SelectMany(b => b).ToList();
            await WriteServerHealthAsync(conn, tx, stored, ct);
            await QueueLateEventsAsync(conn, tx, stored, source, ct);
            var results = batches.Select((b, i) => new WriteResult(fresh[i], b.Count - fresh[i].Count)).ToArray();
            if (alsoInTransaction is not null) await alsoInTransaction(tx, results);
            await tx.CommitAsync(ct);
            return results;
        }
        finally
        {
            await tx.DisposeAsync();
        }
    }

    /// <summary>
    /// Stores a batch that is still being read (<see cref="StreamedBatch"/>): each chunk goes into one COPY as it
    /// comes, and the transaction commits once the batch is complete, so it is still all-or-nothing. Only for the
    /// usual write, all of one day into that day's partition; null when the batch is not (more than one day, a day
    /// without its partition yet) or was abandoned: nothing is stored then, and the caller writes the complete batch with <see cref="StoreAsync"/>.
    /// A re-sent event ends it with PostgreSQL's unique violation, likewise with nothing stored.
    /// </summary>
    public async Task<WriteResult?> StoreStreamedAsync(NpgsqlConnection conn, StreamedBatch batch, string source, CancellationToken ct)
    {
        var chunk = await batch.NextAsync(ct);
        if (chunk is null || chunk.Count == 0) return null;
        var day = Day(chunk[0]);
        // A day without its partition is left to the request, which makes it (DayPartitions) before the batch is written
        // whole: a writer makes none on the ingest path.
        if ((await MissingDaysAsync(conn, [day], ct)).Count > 0) return null;
        await using var tx = await conn.BeginTransactionAsync(ct);
        var stored = new List<UsageEvent>();
        var seen = new HashSet<(string, DateTimeOffset)>();
        var read = 0;
        await using (var copy = await EventCopy.BeginAsync(conn, Target([day]), source, ct))
        {
            do
            {
                if (!chunk.All(e => Day(e) == day)) return null;
                read += chunk.Count;
                var fresh = chunk.Where(e => FirstOfItsId(e, seen)).ToList();
                await copy.WriteAsync(fresh, ct);
                await copy.FlushAsync(ct);
                stored.AddRange(fresh);
            } while ((chunk = await batch.NextAsync(ct)) is not null);
            // Abandoned, or (never expected) the chunks are not the whole batch: the COPY is cancelled.
            if (await batch.Final is not { } all || all.Count != read) return null;
            await copy.CompleteAsync(ct);
        }
        await WriteServerHealthAsync(conn, tx, stored, ct);
        await QueueLateEventsAsync(conn, tx, stored, source, ct);
        await tx.CommitAsync(ct);
        return new WriteResult(stored, read - stored.Count);
    }

    /// <summary>
    /// Creates the day partitions the events need, outside the write's transaction (creating one
    /// locks the parent table, which must not be held for the length of a write).
    /// </summary>
    private async Task PrepareDaysAsync(NpgsqlConnection conn, HashSet<DateOnly> days, CancellationToken ct)
    {
        foreach (var day in await MissingDaysAsync(conn, days, ct))
        {
            await conn.ExecuteAsync(new CommandDefinition("SELECT agentmeter_ensure_event_partition(@day)", new { day }, cancellationToken: ct));
            _openDays[day] = true; // a past day is dropped again at the next check
        }
    }

    /// <summary>
    /// The days whose partitions do not exist, in one query — none when every day is open and known. A day from today on
    /// is known once found: it is neither aggregated nor dropped by retention.
    /// </summary>
    private async Task<IReadOnlyList<DateOnly>> MissingDaysAsync(NpgsqlConnection conn, HashSet<DateOnly> days, CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (days.All(d => d >= today && _openDays.ContainsKey(d))) return [];
        var checks = await conn.QueryAsync<(DateOnly Day, bool Missing)>(new CommandDefinition(
            "SELECT d, to_regclass(agentmeter_event_partition_name(d)) IS NULL FROM unnest(@days::date[]) d",
            new { days = days.ToArray() }, cancellationToken: ct));
        foreach (var day in _openDays.Keys)
            if (day < today) _openDays.TryRemove(day, out _);
        var missing = new List<DateOnly>();
        foreach (var (day, isMissing) in checks)
        {
            if (isMissing) missing.Add(day);
            else if (day >= today) _openDays[day] = true;
        }
        return missing;
    }

    /// <summary>
    /// The day's partition (named as agentmeter_event_partition_name names it, migration 0001) when
    /// every event falls on one day, the usual write: COPY into it skips routing each row through
    /// the parent. Otherwise the parent, which routes them.
    /// </summary>
    private static string Target(HashSet<DateOnly> days) =>
        days.Count == 1 ? $"usage_events_{days.First():yyyyMMdd}" : "usage_events";

    /// <summary>
    /// A re-sent event is the same (event_id, time) again: the unique index usage_events_event_id
    /// (migration 0009) stores it once. Within the batch the first one wins; events without an id are
    /// always new (and a batch with no ids at all is used as it is).
    /// </summary>
    private static IReadOnlyList<UsageEvent> FirstOfEachId(IReadOnlyList<UsageEvent> events)
    {
        if (!events.Any(e => e.EventId is not null)) return events;
        var seen = new HashSet<(string, DateTimeOffset)>();
        return events.Where(e => FirstOfItsId(e, seen)).ToList();
    }

    /// <summary>Whether the event is new among those <paramref name="seen"/> so far (one without an id always is).</summary>
    private static bool FirstOfItsId(UsageEvent e, HashSet<(string, DateTimeOffset)> seen) =>
        e.EventId is null || seen.Add((e.EventId, e.Time));

    /// <summary>
    /// The batches in turn through a staging table and INSERT … ON CONFLICT DO NOTHING, which says
    /// which of each batch's events were new (not stored earlier, by a batch committed meanwhile, or
    /// by an earlier batch of this write).
    /// </summary>
    private static async Task<IReadOnlyList<UsageEvent>[]> InsertNewAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent>[] batches, string source, CancellationToken ct)
    {
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
    /// A write that began this close to midnight may commit after it: its events for the ending day
    /// take that day's lock too.
    /// </summary>
    private static readonly TimeSpan ClosingMargin = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Tool calls for a closed day: the write holds each such day's lock shared
    /// (<see cref="AdvisoryLocks.Day"/>) until it commits, and the day's aggregation holds it
    /// exclusively, so the events are either seen by that aggregation or found here, after it
    /// committed its marker. Those are late: stored in usage_events as always, and also queued in
    /// late_tool_calls, from which the next aggregation pass appends them to their day (as
    /// correction rows); counted per day in late_events and logged.
    /// </summary>
    private async Task QueueLateEventsAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        var closing = DateOnly.FromDateTime((time.GetUtcNow() + ClosingMargin).UtcDateTime);
        var days = events.Where(e => e.Type is EventTypes.ToolCall or EventTypes.ModelCall).Select(Day).Where(d => d < closing).Distinct().Order().ToArray();
        if (days.Length == 0) return;
        // Two statements in one round trip: the check reads with a snapshot taken after the locks are held.
        await using var batch = new NpgsqlBatch(conn, tx)
        {
            BatchCommands =
            {
                new("SELECT count(pg_advisory_xact_lock_shared($1, k)) FROM unnest($2::integer[]) k")
                {
                    Parameters = { new() { Value = AdvisoryLocks.Day }, new() { Value = days.Select(AdvisoryLocks.DayKey).ToArray() } },
                },
                new("SELECT date FROM aggregated_days WHERE date = ANY($1)") { Parameters = { new() { Value = days } } },
            },
        };
        var aggregated = new HashSet<DateOnly>();
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct)) aggregated.Add(reader.GetFieldValue<DateOnly>(0));
        }
        if (aggregated.Count == 0) return;
        var late = events.Where(e => (e.Type is EventTypes.ToolCall or EventTypes.ModelCall) && aggregated.Contains(Day(e))).ToList();
        await EventCopy.CopyAsync(conn, "late_tool_calls", late, source, ct);
        var perDay = late.GroupBy(Day).ToDictionary(g => g.Key, g => (long)g.Count());
        await conn.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO late_events (date, event_count, last_seen)
            SELECT d, n, now() FROM unnest(@days::date[], @counts::bigint[]) AS x(d, n)
            ON CONFLICT (date) DO UPDATE SET event_count = late_events.event_count + excluded.event_count, last_seen = excluded.last_seen
            """,
            new { days = perDay.Keys.ToArray(), counts = perDay.Values.ToArray() }, tx, cancellationToken: ct));
        foreach (var (day, count) in perDay)
            log.LogWarning("{Count} tool_call or model_call event(s) arrived for {Day:yyyy-MM-dd}, which is already aggregated: stored, and queued for the next " +
                           "aggregation pass to append to that day as correction rows (late_events, GET /api/v1/aggregation)", count, day);
    }

    private static DateOnly Day(UsageEvent e) => DateOnly.FromDateTime(e.Time.UtcDateTime);
}
