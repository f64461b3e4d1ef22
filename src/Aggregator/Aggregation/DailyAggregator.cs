using AgentMeter.Aggregator.Database;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Aggregation;

public enum DayOutcome { Aggregated, AlreadyAggregated }

/// <summary>A day's aggregation; <paramref name="ClampedEvents"/> had a numeric field outside the stored-value bounds.</summary>
public sealed record DayResult(DateOnly Day, DayOutcome Outcome, long Events, long StatsRows, long ClampedEvents = 0);

public enum LateOutcome { Applied, NotAggregated, None }

/// <summary>Late events of one day taken from the queue and appended as correction <paramref name="Revision"/>.</summary>
public sealed record LateResult(DateOnly Day, LateOutcome Outcome, long Events, int Revision = 0, long StatsRows = 0);

/// <summary>What one catch-up pass did; <paramref name="Failures"/> lists the days it could not do (each retried later).</summary>
public sealed record PassResult(IReadOnlyList<DayResult> Days, IReadOnlyList<LateResult> Late, IReadOnlyList<DayFailure> Failures)
{
    public bool DidAnything => Days.Count > 0 || Late.Any(l => l.Outcome == LateOutcome.Applied) || Failures.Count > 0;
}

/// <summary>
/// Aggregates one closed UTC day into usage_stats, and every registered <see cref="IDailyRollup"/>,
/// in one transaction that ends with the aggregated_days marker. A day with a marker is never
/// aggregated again, so re-running is a no-op and rate changes never rewrite past costs. Tool calls
/// that arrive for it later wait in late_tool_calls and are appended as correction rows (a new
/// revision of the day), each batch once, by the transaction that takes it off the queue.
/// </summary>
public sealed class DailyAggregator(
    NpgsqlDataSource db, IEnumerable<IDailyRollup> rollups, AggregationOptions options, TimeProvider time, ILogger<DailyAggregator> log)
{
    // One statement over the pass's events: exact p95 (percentile_cont), the mergeable histogram,
    // and token estimates per event with the model's rate in force that day (agentmeter_rates_on:
    // the day is fixed, so no event's date is tested against rate periods). Within a group model,
    // server and day are fixed, so the group shares one rate and one currency: it is priced after
    // grouping, once, from its token sums (agentmeter_cost is linear), which keeps the prices out of
    // the sort of the day's events. The rules are the functions of migration 0010, shared with the
    // usage_events_estimated view. Model calls (no tool, server, status or latency) add their tokens
    // and cost to their group; calls and the latency histogram count tool calls only. Every stored
    // value is read within the bounds of Definitions/10_bounded_arithmetic.sql and every sum saturates, so no stored event
    // can make the day fail with an overflow. Returns the rows written and the events that had a
    // value out of bounds.
    private static string StatsSql(string events) =>
        $"""
        WITH g AS (
            SELECT coalesce(e.agent_id, '') AS agent, coalesce(e.tool_name, '') AS tool, coalesce(e.server_label, '') AS server,
                   coalesce(e.user_id, '') AS usr, coalesce(e.tenant_id, '') AS tenant, coalesce(e.model, '') AS model,
                   count(*) FILTER (WHERE e.type = 'tool_call') AS calls, count(*) FILTER (WHERE e.status = 'success') AS ok, count(*) FILTER (WHERE e.status = 'failure') AS failed,
                   coalesce(sum(b.latency), 0) AS total, coalesce(avg(b.latency), 0) AS avg,
                   coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY b.latency), 0) AS p95,
                   coalesce(agentmeter_latency_histogram(array_agg(agentmeter_latency_bucket(b.latency)) FILTER (WHERE e.type = 'tool_call')), ARRAY[]::integer[]) AS hist,
                   agentmeter_day_sum(sum(t.input)) AS input, agentmeter_day_sum(sum(t.output)) AS output,
                   -- Ingest and import refuse cached > input; the cap keeps a hand-inserted row from pricing negative tokens.
                   sum(least(coalesce(agentmeter_bounded_count(e.cached_input_tokens), 0), t.input)) AS cached,
                   count(*) FILTER (WHERE agentmeter_out_of_bounds(e.latency_ms, e.request_bytes, e.response_bytes, e.input_tokens,
                                                                   e.output_tokens, e.cached_input_tokens)) AS clamped
            FROM {events} e
            LEFT JOIN agentmeter_rates_on(@day) m ON m.model = e.model
            CROSS JOIN LATERAL (
                SELECT agentmeter_input_tokens(e.input_tokens, e.request_bytes, m.bytes_per_token) AS input,
                       agentmeter_output_tokens(e.output_tokens, e.response_bytes, m.bytes_per_token, m.max_output_tokens) AS output) t
            CROSS JOIN LATERAL (SELECT agentmeter_bounded_latency(e.latency_ms) AS latency) b
            WHERE e.time >= @start AND e.time < @end AND e.type IN ('tool_call', 'model_call')
            GROUP BY 1, 2, 3, 4, 5, 6),
        written AS (
            INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, revision,
                call_count, success_count, failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram,
                estimated_input_tokens, estimated_output_tokens, estimated_cost, currency)
            SELECT @day, g.agent, g.tool, g.server, g.usr, g.tenant, g.model, @revision, g.calls, g.ok, g.failed, g.total, g.avg, g.p95, g.hist,
                   g.input, g.output,
                   CASE WHEN p.priced THEN agentmeter_day_cost(
                       agentmeter_cost(g.input, g.cached, g.output, g.calls, mr.input_per_million, mr.cached_input_per_million, mr.output_per_million, sr.tool_call_price))
                   END,
                   CASE WHEN p.priced THEN coalesce(mr.currency, sr.currency) END
            FROM g
            LEFT JOIN agentmeter_rates_on(@day) mr ON mr.model = g.model
            LEFT JOIN agentmeter_rates_on(@day) sr ON sr.server_label = g.server AND sr.tool_call_price IS NOT NULL
            CROSS JOIN LATERAL (SELECT agentmeter_priced(g.model <> '', mr.name, mr.currency, sr.name, sr.currency) AS priced) p
            RETURNING call_count)
        SELECT (SELECT count(*) FROM written), (SELECT coalesce(sum(call_count), 0) FROM written)::bigint, (SELECT coalesce(sum(clamped), 0) FROM g)::bigint
        """;

    /// <summary>The current UTC day; every day before it is closed.</summary>
    public DateOnly Today => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    /// <summary>Days before this one are closed and past Aggregation__Grace: the scheduled pass aggregates them.</summary>
    public DateOnly FirstOpenDay => DateOnly.FromDateTime((time.GetUtcNow() - options.Grace).UtcDateTime);

    public async Task<DayResult> AggregateDayAsync(NpgsqlConnection conn, DateOnly day, CancellationToken ct)
    {
        if (day >= Today)
            throw new InvalidOperationException($"{day:yyyy-MM-dd} is not closed yet (today is {Today:yyyy-MM-dd} UTC): only days before today can be aggregated");
        var started = time.GetTimestamp();
        await using var tx = await conn.BeginTransactionAsync(ct);
        await LockDayAsync(conn, tx, day, ct);
        var done = await conn.QuerySingleOrDefaultAsync<(long events, long rows)?>(new CommandDefinition(
            "SELECT event_count, stats_rows FROM aggregated_days WHERE date = @day", new { day }, tx, cancellationToken: ct));
        if (done is { } d)
            return new DayResult(day, DayOutcome.AlreadyAggregated, d.events, d.rows);

        var written = new Written(0, 0, 0);
        if (await PartitionExistsAsync(conn, tx, day, ct))
            written = await WriteAsync(conn, tx, new DayPass(day, 0, "usage_events"), ct);
        await conn.ExecuteAsync(new CommandDefinition(
            "INSERT INTO aggregated_days (date, event_count, stats_rows, clamped_events) VALUES (@day, @Events, @Rows, @Clamped)",
            new { day, written.Events, written.Rows, written.Clamped }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        log.LogInformation("Aggregated {Day:yyyy-MM-dd}: {Events} tool calls into {Rows} usage_stats rows in {ElapsedMs:F0} ms",
            day, written.Events, written.Rows, time.GetElapsedTime(started).TotalMilliseconds);
        if (written.Clamped > 0) LogClamped(day, written.Clamped);
        return new DayResult(day, DayOutcome.Aggregated, written.Events, written.Rows, written.Clamped);
    }

    /// <summary>
    /// Takes the day's queued late events off late_tool_calls and appends them as the day's next
    /// revision (usage_stats and every rollup), in one transaction: a batch is applied once or stays
    /// queued. A day that retention already rolled up into usage_stats_monthly gets its correction
    /// rows all the same; the next retention pass adds them to the month's rows, as for any day
    /// aggregated into a month already rolled up.
    /// </summary>
    public async Task<LateResult> ApplyLateEventsAsync(NpgsqlConnection conn, DateOnly day, CancellationToken ct)
    {
        var pass = new DayPass(day, 0, "late_applying");
        await using var tx = await conn.BeginTransactionAsync(ct);
        await LockDayAsync(conn, tx, day, ct);
        var corrections = await conn.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(
            "SELECT corrections FROM aggregated_days WHERE date = @day FOR UPDATE", new { day }, tx, cancellationToken: ct));
        var now = time.GetUtcNow();
        if (corrections is null)
        {
            // Queued only for aggregated days; should the marker be gone, the day's own aggregation
            // reads these events from usage_events, where they are stored too.
            var dropped = await TakeQueuedAsync(conn, tx, pass, copy: false, ct);
            await tx.CommitAsync(ct);
            return new LateResult(day, LateOutcome.NotAggregated, dropped);
        }
        var taken = await TakeQueuedAsync(conn, tx, pass, copy: true, ct);
        if (taken == 0) return new LateResult(day, LateOutcome.None, 0);
        var revision = corrections.Value + 1;
        var written = await WriteAsync(conn, tx, pass with { Revision = revision }, ct);
        await conn.ExecuteAsync(new CommandDefinition(
            """
            UPDATE aggregated_days SET corrections = @revision, last_corrected_at = @now, clamped_events = clamped_events + @Clamped
            WHERE date = @day
            """, new { day, revision, now, written.Clamped }, tx, cancellationToken: ct));
        await CountAppliedAsync(conn, tx, day, taken, now, ct);
        await tx.CommitAsync(ct);
        log.LogInformation("Applied {Count} late tool call(s) to {Day:yyyy-MM-dd} as correction {Revision} ({Rows} usage_stats rows)",
            taken, day, revision, written.Rows);
        if (written.Clamped > 0) LogClamped(day, written.Clamped);
        return new LateResult(day, LateOutcome.Applied, taken, revision, written.Rows);
    }

    private sealed record Written(long Rows, long Events, long Clamped);

    /// <summary>The pass's usage_stats rows and every rollup of them.</summary>
    private async Task<Written> WriteAsync(NpgsqlConnection conn, NpgsqlTransaction tx, DayPass pass, CancellationToken ct)
    {
        // WorkMem is checked at start to be a plain size, so it can be inlined (SET takes no parameters).
        await conn.ExecuteAsync(new CommandDefinition($"SET LOCAL work_mem = '{options.WorkMem}'", transaction: tx, cancellationToken: ct));
        var (rows, events, clamped) = await conn.QuerySingleAsync<(long, long, long)>(new CommandDefinition(
            StatsSql(pass.EventsTable), new { day = pass.Day, revision = pass.Revision, start = pass.Start, end = pass.End }, tx,
            cancellationToken: ct, commandTimeout: 0));
        foreach (var rollup in rollups)
            await rollup.WriteAsync(conn, tx, pass, ct);
        return new Written(rows, events, clamped);
    }

    /// <summary>
    /// The day's exclusive lock (<see cref="AdvisoryLocks.Day"/>): a writer storing events for the day
    /// holds it shared until it commits, so the day's events are either all visible to this
    /// transaction or written after its marker, and then queued as late.
    /// </summary>
    private static Task LockDayAsync(NpgsqlConnection conn, NpgsqlTransaction tx, DateOnly day, CancellationToken ct) =>
        conn.ExecuteAsync(new CommandDefinition(
            // Aggregation serialises writers of days across replicas and the CLI; re-entrant for a session that holds it.
            "SELECT pg_advisory_xact_lock(@k), pg_advisory_xact_lock(@space, @day)",
            new { k = AdvisoryLocks.Aggregation, space = AdvisoryLocks.Day, day = AdvisoryLocks.DayKey(day) }, tx, cancellationToken: ct));

    private static Task<bool> PartitionExistsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, DateOnly day, CancellationToken ct) =>
        conn.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT to_regclass(agentmeter_event_partition_name(@day)) IS NOT NULL", new { day }, tx, cancellationToken: ct));

    /// <summary>Deletes the day's queued late events (committed ones), with <paramref name="copy"/> into the pass's temporary events table.</summary>
    private static async Task<long> TakeQueuedAsync(NpgsqlConnection conn, NpgsqlTransaction tx, DayPass pass, bool copy, CancellationToken ct)
    {
        var range = new { start = pass.Start, end = pass.End };
        if (!copy)
            return await conn.ExecuteAsync(new CommandDefinition(
                "DELETE FROM late_tool_calls WHERE time >= @start AND time < @end", range, tx, cancellationToken: ct));
        await conn.ExecuteAsync(new CommandDefinition(
            $"CREATE TEMP TABLE {pass.EventsTable} (LIKE late_tool_calls) ON COMMIT DROP", transaction: tx, cancellationToken: ct));
        return await conn.ExecuteAsync(new CommandDefinition(
            $"""
            WITH taken AS (DELETE FROM late_tool_calls WHERE time >= @start AND time < @end RETURNING *)
            INSERT INTO {pass.EventsTable} SELECT * FROM taken
            """, range, tx, cancellationToken: ct));
    }

    private static Task CountAppliedAsync(NpgsqlConnection conn, NpgsqlTransaction tx, DateOnly day, long applied, DateTimeOffset now, CancellationToken ct) =>
        conn.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO late_events (date, event_count, last_seen, applied_count, last_applied)
            VALUES (@day, @applied, @now, @applied, @now)
            ON CONFLICT (date) DO UPDATE SET
                applied_count = late_events.applied_count + excluded.applied_count,
                -- Never below what was applied (a row pruned by raw retention comes back with that).
                event_count = greatest(late_events.event_count, late_events.applied_count + excluded.applied_count),
                last_applied = excluded.last_applied
            """, new { day, applied, now }, tx, cancellationToken: ct));

    private void LogClamped(DateOnly day, long clamped) =>
        log.LogWarning(
            "{Count} tool call(s) of {Day:yyyy-MM-dd} have a numeric field out of range (latency_ms beyond [0, 1e10], a byte or token count " +
            "beyond [0, 2^40]): counted with the value clamped to the bound. Find them with SELECT * FROM usage_events WHERE time >= '{Day:yyyy-MM-dd}' " +
            "AND time < '{Day:yyyy-MM-dd}'::date + 1 AND agentmeter_out_of_bounds(latency_ms, request_bytes, response_bytes, input_tokens, " +
            "output_tokens, cached_input_tokens), and fix the client that sent them", clamped, day, day, day);

    /// <summary>Days before <paramref name="before"/> that have an event partition and no aggregated_days marker, oldest first.</summary>
    public async Task<IReadOnlyList<DateOnly>> UnaggregatedDaysAsync(NpgsqlConnection conn, DateOnly before, CancellationToken ct) =>
        (await conn.QueryAsync<DateOnly>(new CommandDefinition(
            """
            SELECT p.day FROM (
                SELECT to_date(substring(c.relname FROM '^usage_events_(\d{8})$'), 'YYYYMMDD') AS day
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'usage_events'::regclass) p
            WHERE p.day IS NOT NULL AND p.day < @before AND NOT EXISTS (SELECT 1 FROM aggregated_days a WHERE a.date = p.day)
            ORDER BY p.day
            """, new { before }, cancellationToken: ct))).ToList();

    /// <summary>
    /// Closed days past the grace period that have an event partition and no marker, oldest first;
    /// a day that failed is left out until its retry is due.
    /// </summary>
    public async Task<IReadOnlyList<DateOnly>> PendingDaysAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var notDue = await NotDueAsync(conn, ct);
        return (await UnaggregatedDaysAsync(conn, FirstOpenDay, ct)).Where(d => !notDue.Contains(d)).ToList();
    }

    private async Task<HashSet<DateOnly>> NotDueAsync(NpgsqlConnection conn, CancellationToken ct) =>
        (await conn.QueryAsync<DateOnly>(new CommandDefinition(
            "SELECT date FROM aggregation_failures WHERE next_attempt_at > @now", new { now = time.GetUtcNow() }, cancellationToken: ct))).ToHashSet();

    /// <summary>Days with queued late events, oldest first; a day whose last try failed is left out until its retry is due.</summary>
    private async Task<IReadOnlyList<DateOnly>> LateDaysAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var notDue = await NotDueAsync(conn, ct);
        return (await conn.QueryAsync<DateOnly>(new CommandDefinition(
                "SELECT DISTINCT (time AT TIME ZONE 'UTC')::date FROM late_tool_calls ORDER BY 1", cancellationToken: ct)))
            .Where(d => !notDue.Contains(d)).ToList();
    }

    /// <summary>
    /// When this replica gets the aggregation lock: aggregates every pending day, oldest first, then
    /// applies the queued late events, day by day. A day that fails is recorded in
    /// aggregation_failures with its error and never stops the days after it. Returns null when
    /// another replica holds the lock (that one does the work).
    /// </summary>
    public async Task<PassResult?> CatchUpAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        if (!await conn.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_lock(@k)", new { k = AdvisoryLocks.Aggregation }, cancellationToken: ct)))
            return null;
        try
        {
            var days = new List<DayResult>();
            var late = new List<LateResult>();
            var failures = new List<DayFailure>();
            foreach (var day in await PendingDaysAsync(conn, ct))
                if (await IsolatedAsync(conn, day, AggregationFailures.Aggregate, () => AggregateDayAsync(conn, day, ct), failures, ct) is { } r)
                    days.Add(r);
            foreach (var day in await LateDaysAsync(conn, ct))
                if (await IsolatedAsync(conn, day, AggregationFailures.LateEvents, () => ApplyLateEventsAsync(conn, day, ct), failures, ct) is { } r)
                    late.Add(r);
            return new PassResult(days, late, failures);
        }
        finally
        {
            if (conn.State == System.Data.ConnectionState.Open)
                await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.Aggregation });
        }
    }

    /// <summary>Runs one day's work; a failure is recorded for that day alone and the pass goes on (unless the connection itself broke).</summary>
    private async Task<T?> IsolatedAsync<T>(NpgsqlConnection conn, DateOnly day, string stage, Func<Task<T>> work, List<DayFailure> failures,
        CancellationToken ct) where T : class
    {
        try
        {
            var result = await work();
            await AggregationFailures.ClearAsync(conn, day, ct);
            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException && conn.State == System.Data.ConnectionState.Open)
        {
            var failure = await AggregationFailures.RecordAsync(conn, day, stage, e.Message, time.GetUtcNow(), options.PassInterval, ct);
            failures.Add(failure);
            log.LogError(e,
                "{Stage} {Day:yyyy-MM-dd} failed (attempt {Attempts}): {Error}. Retried at {Next:O}; the days after it go on meanwhile. " +
                "If stored events cause it, inspect them with SELECT * FROM usage_events WHERE time >= '{Day:yyyy-MM-dd}' AND time < '{Day:yyyy-MM-dd}'::date + 1, " +
                "correct or delete the offending rows, and wait for the retry or run agentmeter-aggregator aggregate --from {Day:yyyy-MM-dd}. " +
                "GET /api/v1/aggregation lists failed days",
                stage == AggregationFailures.Aggregate ? "Aggregating" : "Applying late events to", day, failure.Attempts, e.Message,
                failure.NextAttemptAt, day, day, day);
            return null;
        }
    }

    /// <summary>Aggregates the given closed days (the <c>aggregate</c> command).</summary>
    public async Task<IReadOnlyList<DayResult>> AggregateRangeAsync(DateOnly from, DateOnly to, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var results = new List<DayResult>();
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            results.Add(await AggregateDayAsync(conn, day, ct));
            await AggregationFailures.ClearAsync(conn, day, ct);
        }
        return results;
    }
}
