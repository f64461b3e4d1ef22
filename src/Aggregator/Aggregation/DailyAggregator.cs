using AgentMeter.Aggregator.Database;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Aggregation;

public enum DayOutcome { Aggregated, AlreadyAggregated }

public sealed record DayResult(DateOnly Day, DayOutcome Outcome, long Events, long StatsRows);

/// <summary>
/// Aggregates one closed UTC day into usage_stats, and every registered <see cref="IDailyRollup"/>,
/// in one transaction that ends with the aggregated_days marker. A day with a marker is never
/// touched again, so re-running is a no-op and rate changes never rewrite past costs.
/// </summary>
public sealed class DailyAggregator(
    NpgsqlDataSource db, IEnumerable<IDailyRollup> rollups, AggregationOptions options, TimeProvider time, ILogger<DailyAggregator> log)
{
    // One statement over the day's partition: exact p95 (percentile_cont), the mergeable histogram,
    // and token estimates per event with the model's rate in force that day (agentmeter_rates_on:
    // the day is fixed, so no event's date is tested against rate periods). Within a group model,
    // server and day are fixed, so the group shares one rate and one currency: it is priced after
    // grouping, once, from its token sums (agentmeter_cost is linear), which keeps the prices out of
    // the sort of the day's events. The rules are the functions of migration 0010, shared with the
    // usage_events_estimated view. Model calls (no tool, server, status or latency) add their tokens
    // and cost to their group; calls and the latency histogram count tool calls only.
    private const string InsertStats =
        """
        INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
            call_count, success_count, failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram,
            estimated_input_tokens, estimated_output_tokens, estimated_cost, currency)
        SELECT @day, g.agent, g.tool, g.server, g.usr, g.tenant, g.model, g.calls, g.ok, g.failed, g.total, g.avg, g.p95, g.hist, g.input, g.output,
               CASE WHEN p.priced THEN
                   agentmeter_cost(g.input, g.cached, g.output, g.calls, mr.input_per_million, mr.cached_input_per_million, mr.output_per_million, sr.tool_call_price)
               END,
               CASE WHEN p.priced THEN coalesce(mr.currency, sr.currency) END
        FROM (
            SELECT coalesce(e.agent_id, '') AS agent, coalesce(e.tool_name, '') AS tool, coalesce(e.server_label, '') AS server,
                   coalesce(e.user_id, '') AS usr, coalesce(e.tenant_id, '') AS tenant, coalesce(e.model, '') AS model,
                   count(*) FILTER (WHERE e.type = 'tool_call') AS calls, count(*) FILTER (WHERE e.status = 'success') AS ok, count(*) FILTER (WHERE e.status = 'failure') AS failed,
                   coalesce(sum(e.latency_ms), 0) AS total, coalesce(avg(e.latency_ms), 0) AS avg,
                   coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency_ms), 0) AS p95,
                   coalesce(agentmeter_latency_histogram(array_agg(agentmeter_latency_bucket(e.latency_ms)) FILTER (WHERE e.type = 'tool_call')), '{}') AS hist,
                   sum(t.input) AS input, sum(t.output) AS output,
                   -- Ingest and import refuse cached > input; the cap keeps a hand-inserted row from pricing negative tokens.
                   sum(least(coalesce(e.cached_input_tokens, 0), t.input)) AS cached
            FROM usage_events e
            LEFT JOIN agentmeter_rates_on(@day) m ON m.model = e.model
            CROSS JOIN LATERAL (
                SELECT agentmeter_input_tokens(e.input_tokens, e.request_bytes, m.bytes_per_token) AS input,
                       agentmeter_output_tokens(e.output_tokens, e.response_bytes, m.bytes_per_token, m.max_output_tokens) AS output) t
            WHERE e.time >= @start AND e.time < @end AND e.type IN ('tool_call', 'model_call')
            GROUP BY 1, 2, 3, 4, 5, 6) g
        LEFT JOIN agentmeter_rates_on(@day) mr ON mr.model = g.model
        LEFT JOIN agentmeter_rates_on(@day) sr ON sr.server_label = g.server AND sr.tool_call_price IS NOT NULL
        CROSS JOIN LATERAL (SELECT agentmeter_priced(g.model <> '', mr.name, mr.currency, sr.name, sr.currency) AS priced) p
        """;

    /// <summary>The current UTC day; every day before it is closed.</summary>
    public DateOnly Today => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    public async Task<DayResult> AggregateDayAsync(NpgsqlConnection conn, DateOnly day, CancellationToken ct)
    {
        if (day >= Today)
            throw new InvalidOperationException($"{day:yyyy-MM-dd} is not closed yet (today is {Today:yyyy-MM-dd} UTC): only days before today can be aggregated");
        var started = time.GetTimestamp();
        await using var tx = await conn.BeginTransactionAsync(ct);
        // Serialises writers of days across replicas and the CLI; re-entrant for a session that holds it.
        await conn.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@k)", new { k = AdvisoryLocks.Aggregation }, tx, cancellationToken: ct));
        var done = await conn.QuerySingleOrDefaultAsync<(long events, long rows)?>(new CommandDefinition(
            "SELECT event_count, stats_rows FROM aggregated_days WHERE date = @day", new { day }, tx, cancellationToken: ct));
        if (done is { } d)
            return new DayResult(day, DayOutcome.AlreadyAggregated, d.events, d.rows);

        var start = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var rows = 0L;
        if (await PartitionExistsAsync(conn, tx, day, ct))
        {
            // WorkMem is checked at start to be a plain size, so it can be inlined (SET takes no parameters).
            await conn.ExecuteAsync(new CommandDefinition($"SET LOCAL work_mem = '{options.WorkMem}'", transaction: tx, cancellationToken: ct));
            rows = await conn.ExecuteAsync(new CommandDefinition(InsertStats, new { day, start, end = start.AddDays(1) }, tx, cancellationToken: ct, commandTimeout: 0));
        }
        var events = await conn.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT coalesce(sum(call_count), 0)::bigint FROM usage_stats WHERE date = @day", new { day }, tx, cancellationToken: ct));
        foreach (var rollup in rollups)
            await rollup.WriteAsync(conn, tx, day, ct);
        await conn.ExecuteAsync(new CommandDefinition(
            "INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES (@day, @events, @rows)", new { day, events, rows }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        log.LogInformation("Aggregated {Day:yyyy-MM-dd}: {Events} tool calls into {Rows} usage_stats rows in {ElapsedMs:F0} ms",
            day, events, rows, time.GetElapsedTime(started).TotalMilliseconds);
        return new DayResult(day, DayOutcome.Aggregated, events, rows);
    }

    private static Task<bool> PartitionExistsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, DateOnly day, CancellationToken ct) =>
        conn.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT to_regclass(agentmeter_event_partition_name(@day)) IS NOT NULL", new { day }, tx, cancellationToken: ct));

    /// <summary>Closed days that have an event partition and no marker, oldest first.</summary>
    public async Task<IReadOnlyList<DateOnly>> PendingDaysAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var days = await conn.QueryAsync<DateOnly>(new CommandDefinition(
            """
            SELECT p.day FROM (
                SELECT to_date(substring(c.relname FROM '^usage_events_(\d{8})$'), 'YYYYMMDD') AS day
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'usage_events'::regclass) p
            WHERE p.day IS NOT NULL AND p.day < @today
              AND NOT EXISTS (SELECT 1 FROM aggregated_days a WHERE a.date = p.day)
            ORDER BY p.day
            """, new { today = Today }, cancellationToken: ct));
        return days.ToList();
    }

    /// <summary>
    /// Aggregates every pending closed day, oldest first, when this replica gets the aggregation
    /// lock; returns null when another replica holds it (that one does the work).
    /// </summary>
    public async Task<IReadOnlyList<DayResult>?> CatchUpAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        if (!await conn.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_lock(@k)", new { k = AdvisoryLocks.Aggregation }, cancellationToken: ct)))
            return null;
        try
        {
            var results = new List<DayResult>();
            foreach (var day in await PendingDaysAsync(conn, ct))
                results.Add(await AggregateDayAsync(conn, day, ct));
            return results;
        }
        finally
        {
            await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.Aggregation });
        }
    }

    /// <summary>Aggregates the given closed days (the <c>aggregate</c> command).</summary>
    public async Task<IReadOnlyList<DayResult>> AggregateRangeAsync(DateOnly from, DateOnly to, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var results = new List<DayResult>();
        for (var day = from; day <= to; day = day.AddDays(1))
            results.Add(await AggregateDayAsync(conn, day, ct));
        return results;
    }
}
