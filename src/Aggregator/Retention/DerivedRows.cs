using Npgsql;

namespace AgentMeter.Aggregator.Retention;

/// <summary>
/// Rows deleted in one pass from the tables other capabilities derive per day or per event; part of
/// <see cref="RetentionRunDetails"/> and of <c>lastRun</c> in <c>GET /api/v1/retention</c>.
/// </summary>
public sealed class DerivedRowsDeleted
{
    /// <summary>usage_stats_by_dimension: with each month rolled up or deleted, in its transaction.</summary>
    public long UsageStatsByDimension { get; set; }
    public long UsageStatsHourly { get; set; }
    public long ServerHealthEvents { get; set; }
    public long WebhookAttempts { get; set; }
    public long LateEvents { get; set; }
    public long ImportRejectedRows { get; set; }

    public long Total => UsageStatsByDimension + UsageStatsHourly + ServerHealthEvents + WebhookAttempts + LateEvents + ImportRejectedRows;
}

/// <summary>
/// Prunes the derived tables that are not moved with a month (<see cref="MonthlyRollup"/> does
/// usage_stats_by_dimension). Each is read on its own (heatmap, health, errors, operator look-ups),
/// never joined with usage_stats, so each DELETE commits alone. Stored days are UTC days: a date
/// cut-off becomes its midnight UTC for timestamp columns.
/// </summary>
public static class DerivedRows
{
    /// <summary>The heatmap's hours, health transitions and webhook attempts: kept as long as daily usage_stats.</summary>
    public static async Task PruneDailyAsync(NpgsqlConnection conn, DateOnly keepFrom, DerivedRowsDeleted deleted, CancellationToken ct)
    {
        deleted.UsageStatsHourly += await DeleteAsync(conn, "DELETE FROM usage_stats_hourly WHERE date < $1", keepFrom, ct);
        // The last transition(s) of each server before the cut-off stay: the health endpoint, the
        // alert windows and the breaker gauge's warm start carry a server's state in from its last
        // earlier transition, and a server quiet for longer than the daily window is still open or closed.
        deleted.ServerHealthEvents += await DeleteAsync(conn,
            """
            DELETE FROM server_health_events e
            WHERE e.time < $1
              AND e.time < (SELECT max(l.time) FROM server_health_events l WHERE l.server_label = e.server_label AND l.time < $1)
            """, Midnight(keepFrom), ct);
        // Attempts of a notification still being retried stay with it (webhook_attempts.outbox_id has no
        // foreign key; the outbox row's status says whether it is done).
        deleted.WebhookAttempts += await DeleteAsync(conn,
            """
            DELETE FROM webhook_attempts a
            WHERE a.attempted_at < $1
              AND NOT EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.id = a.outbox_id AND o.status = 'pending')
            """, Midnight(keepFrom), ct);
    }

    /// <summary>
    /// Per-day late-event counts and rejected import rows: kept as long as raw events. A day whose
    /// late events still wait in the queue keeps its counts (the queue itself is never pruned).
    /// </summary>
    public static async Task PruneRawAsync(NpgsqlConnection conn, DateOnly keepFrom, DerivedRowsDeleted deleted, CancellationToken ct)
    {
        deleted.LateEvents += await DeleteAsync(conn,
            """
            DELETE FROM late_events l WHERE l.date < $1
              AND NOT EXISTS (SELECT 1 FROM late_tool_calls q WHERE q.time >= l.date::timestamp AT TIME ZONE 'UTC'
                                                                AND q.time < (l.date + 1)::timestamp AT TIME ZONE 'UTC')
            """, keepFrom, ct);
        deleted.ImportRejectedRows += await DeleteAsync(conn, "DELETE FROM import_rejected_rows WHERE rejected_at < $1", Midnight(keepFrom), ct);
    }

    private static DateTime Midnight(DateOnly day) => day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    private static async Task<long> DeleteAsync(NpgsqlConnection conn, string sql, object cutoff, CancellationToken ct)
    {
        // No command timeout, as for the monthly move: the first pass over an old database may delete a lot.
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        cmd.Parameters.Add(new NpgsqlParameter { Value = cutoff });
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
