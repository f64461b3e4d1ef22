using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>
/// Loads what alerts read over a rolling window [now − window, now].
/// Which source serves each UTC day of the window:
/// <list type="bullet">
/// <item>aggregated days (aggregated_days) after the window's first day → usage_stats, whole day;</item>
/// <item>days not aggregated yet (today, and any day the job has not reached) → raw events through
///   usage_events_estimated, limited to the window's time range;</item>
/// <item>the window's first, partial day when it is aggregated → its raw events from the window start
///   while they are kept (exact); once retention dropped its raw partition, usage_stats for the whole
///   day — the window then reaches back to that day's midnight (at most 24 h further).</item>
/// </list>
/// Days rolled up into usage_stats_monthly are not read: windows are meant to stay within daily retention.
/// </summary>
public sealed class AlertWindowQueries(NpgsqlDataSource db)
{
    public async Task<WindowData> LoadAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var startDay = DateOnly.FromDateTime(start.UtcDateTime);
        var endDay = DateOnly.FromDateTime(end.UtcDateTime);
        var aggregated = (await conn.QueryAsync<(DateTime Date, bool HasRaw)>(new CommandDefinition(
            """
            SELECT date, to_regclass(agentmeter_event_partition_name(date)) IS NOT NULL
            FROM aggregated_days WHERE date BETWEEN @from AND @to
            """, new { from = startDay.ToDateTime(TimeOnly.MinValue), to = endDay.ToDateTime(TimeOnly.MinValue) }, cancellationToken: ct)))
            .ToList();
        var statsDays = aggregated
            .Where(a => DateOnly.FromDateTime(a.Date) > startDay || !a.HasRaw)
            .Select(a => DateOnly.FromDateTime(a.Date))
            .ToHashSet();

        var rows = new Dictionary<(UsageDimensions, string), UsageRow>();
        if (statsDays.Count > 0) await LoadStatsAsync(conn, statsDays, rows, ct);
        foreach (var (from, to) in RawRanges(start, end, statsDays))
            await LoadRawAsync(conn, from, to, rows, ct);

        var openBreakers = (await conn.QueryAsync<string>(new CommandDefinition(
            """
            SELECT server_label FROM (
                SELECT DISTINCT ON (server_label) server_label, state FROM server_health_events
                WHERE time < @start ORDER BY server_label, time DESC) before_window
            WHERE state = 'open'
            UNION
            SELECT server_label FROM server_health_events WHERE time >= @start AND time <= @end AND state = 'open'
            """, new { start, end }, cancellationToken: ct))).ToHashSet();

        var webhooks = (await conn.QueryAsync<(string Tenant, long Attempts, long Failures)>(new CommandDefinition(
            """
            SELECT coalesce(tenant_id, ''), count(*), count(*) FILTER (WHERE NOT succeeded)
            FROM webhook_attempts WHERE attempted_at > @start AND attempted_at <= @end GROUP BY 1
            """, new { start, end }, cancellationToken: ct))).ToDictionary(r => r.Tenant, r => (r.Attempts, r.Failures));

        return new WindowData(start, end, rows.Values.ToList(), openBreakers, webhooks);
    }

    /// <summary>Contiguous time ranges of the window whose days are read from raw events.</summary>
    public static IEnumerable<(DateTimeOffset From, DateTimeOffset To)> RawRanges(DateTimeOffset start, DateTimeOffset end, IReadOnlySet<DateOnly> statsDays)
    {
        DateTimeOffset? open = null;
        for (var day = DateOnly.FromDateTime(start.UtcDateTime); day <= DateOnly.FromDateTime(end.UtcDateTime); day = day.AddDays(1))
        {
            var dayStart = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            if (statsDays.Contains(day))
            {
                if (open is { } from) yield return (from, dayStart);
                open = null;
            }
            else open ??= dayStart < start ? start : dayStart;
        }
        // Ranges are half-open; the last one includes "now" itself (1 µs, the database's resolution).
        if (open is { } last) yield return (last, end.AddTicks(10));
    }

    private static async Task LoadStatsAsync(NpgsqlConnection conn, IReadOnlySet<DateOnly> days, Dictionary<(UsageDimensions, string), UsageRow> rows, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, coalesce(currency, ''),
                   call_count, failure_count, estimated_input_tokens, estimated_output_tokens, estimated_cost, latency_histogram
            FROM usage_stats WHERE date = ANY($1)
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = days.ToArray() });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var row = Row(rows, r);
            row.Calls += r.GetInt64(7);
            row.Failures += r.GetInt64(8);
            row.InputTokens += r.GetInt64(9);
            row.OutputTokens += r.GetInt64(10);
            if (!r.IsDBNull(11)) row.Cost = (row.Cost ?? 0) + r.GetDecimal(11);
            var histogram = r.GetFieldValue<int[]>(12);
            for (var i = 0; i < histogram.Length && i < LatencyHistogram.Buckets; i++) row.Histogram[i] += histogram[i];
        }
    }

    private static async Task LoadRawAsync(NpgsqlConnection conn, DateTimeOffset from, DateTimeOffset to, Dictionary<(UsageDimensions, string), UsageRow> rows, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT coalesce(agent_id, ''), coalesce(tool_name, ''), coalesce(server_label, ''), coalesce(user_id, ''),
                   coalesce(tenant_id, ''), coalesce(model, ''), coalesce(currency, ''),
                   count(*), count(*) FILTER (WHERE status = 'failure'),
                   coalesce(sum(estimated_input_tokens), 0)::bigint, coalesce(sum(estimated_output_tokens), 0)::bigint,
                   sum(estimated_cost), agentmeter_latency_bucket(latency_ms)
            FROM usage_events_estimated
            WHERE time >= $1 AND time < $2
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 13
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime });
        cmd.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var row = Row(rows, r);
            var calls = r.GetInt64(7);
            row.Calls += calls;
            row.Failures += r.GetInt64(8);
            row.InputTokens += r.GetInt64(9);
            row.OutputTokens += r.GetInt64(10);
            if (!r.IsDBNull(11)) row.Cost = (row.Cost ?? 0) + r.GetDecimal(11);
            row.Histogram[Math.Clamp(r.GetInt32(12), 0, LatencyHistogram.Buckets - 1)] += calls;
        }
    }

    private static UsageRow Row(Dictionary<(UsageDimensions, string), UsageRow> rows, NpgsqlDataReader r)
    {
        var dims = new UsageDimensions(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5));
        var key = (dims, r.GetString(6));
        if (!rows.TryGetValue(key, out var row)) rows[key] = row = new UsageRow(dims, key.Item2);
        return row;
    }
}
