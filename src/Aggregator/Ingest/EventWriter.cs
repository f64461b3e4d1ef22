using AgentMeter.Entities.Domain;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>What a write stored: events new to the database, and those skipped as already stored.</summary>
public sealed record WriteResult(IReadOnlyList<UsageEvent> Stored, int Duplicates, long LateEvents);

/// <summary>
/// Writes validated events into usage_events with binary COPY, inside the caller's transaction, so
/// ingest and audit import share one path. An event id already stored (in this batch, an earlier
/// batch or another day) is skipped; circuit_breaker events also go to server_health_events.
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
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        var fresh = await SkipKnownIdsAsync(conn, tx, events, ct);
        await CopyAsync(conn, fresh, source, ct);
        await WriteServerHealthAsync(conn, tx, fresh, ct);
        var late = await CountLateEventsAsync(conn, tx, fresh, ct);
        return new WriteResult(fresh, events.Count - fresh.Count, late);
    }

    /// <summary>
    /// Claims each event id in ingested_event_ids; an id some batch already claimed (committed, or
    /// in flight: the insert waits for it) is a duplicate. Events without an id are always new.
    /// </summary>
    private static async Task<List<UsageEvent>> SkipKnownIdsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        var firstById = new Dictionary<string, UsageEvent>();
        foreach (var e in events)
            if (e.EventId is not null) firstById.TryAdd(e.EventId, e);
        if (firstById.Count == 0) return events.ToList();

        var claimed = (await conn.QueryAsync<string>(new CommandDefinition(
            """
            INSERT INTO ingested_event_ids (event_id, event_time)
            SELECT * FROM unnest(@ids::text[], @times::timestamptz[])
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
            """,
            new { ids = firstById.Keys.ToArray(), times = firstById.Values.Select(e => e.Time.UtcDateTime).ToArray() },
            tx, cancellationToken: ct))).ToHashSet();
        // Keep the first event of each newly claimed id: Remove is true only the first time.
        return events.Where(e => e.EventId is null || claimed.Remove(e.EventId)).ToList();
    }

    private static async Task CopyAsync(NpgsqlConnection conn, IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        if (events.Count == 0) return;
        await using var copy = await conn.BeginBinaryImportAsync(
            "COPY usage_events (time, type, event_id, agent_id, tool_name, server_label, user_id, tenant_id, model, status, " +
            "latency_ms, request_bytes, response_bytes, input_tokens, output_tokens, cached_input_tokens, method, state, source) " +
            "FROM STDIN (FORMAT BINARY)", ct);
        foreach (var e in events)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(e.Time.UtcDateTime, NpgsqlDbType.TimestampTz, ct);
            await copy.WriteAsync(e.Type, NpgsqlDbType.Text, ct);
            await Text(copy, e.EventId, ct);
            await Text(copy, e.AgentId, ct);
            await Text(copy, e.ToolName, ct);
            await Text(copy, e.ServerLabel, ct);
            await Text(copy, e.UserId, ct);
            await Text(copy, e.TenantId, ct);
            await Text(copy, e.Model, ct);
            await Text(copy, e.Status, ct);
            await Number(copy, e.LatencyMs, NpgsqlDbType.Double, ct);
            await Number(copy, e.RequestBytes, NpgsqlDbType.Bigint, ct);
            await Number(copy, e.ResponseBytes, NpgsqlDbType.Bigint, ct);
            await Number(copy, e.InputTokens, NpgsqlDbType.Bigint, ct);
            await Number(copy, e.OutputTokens, NpgsqlDbType.Bigint, ct);
            await Number(copy, e.CachedInputTokens, NpgsqlDbType.Bigint, ct);
            await Text(copy, e.Method, ct);
            await Text(copy, e.State, ct);
            await copy.WriteAsync(source, NpgsqlDbType.Text, ct);
        }
        await copy.CompleteAsync(ct);
    }

    private static Task Text(NpgsqlBinaryImporter copy, string? value, CancellationToken ct) =>
        value is null ? copy.WriteNullAsync(ct) : copy.WriteAsync(value, NpgsqlDbType.Text, ct);

    private static Task Number<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken ct) where T : struct =>
        value is { } v ? copy.WriteAsync(v, type, ct) : copy.WriteNullAsync(ct);

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
    private async Task<long> CountLateEventsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        // Only closed days are ever aggregated: real-time batches (today's events) skip the query.
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var perDay = events.Where(e => e.Type == EventTypes.ToolCall)
            .GroupBy(e => DateOnly.FromDateTime(e.Time.UtcDateTime))
            .Where(g => g.Key < today)
            .ToDictionary(g => g.Key, g => (long)g.Count());
        if (perDay.Count == 0) return 0;
        var late = (await conn.QueryAsync<DateOnly>(new CommandDefinition(
            "SELECT date FROM aggregated_days WHERE date = ANY(@days::date[])", new { days = perDay.Keys.ToArray() }, tx, cancellationToken: ct))).ToList();
        if (late.Count == 0) return 0;
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
        return late.Sum(d => perDay[d]);
    }
}
