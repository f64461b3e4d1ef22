using AgentMeter.Entities.Domain;
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
    /// <summary>One piece of usage read from the database: a usage_stats row or a raw-event group of one latency bucket.</summary>
    internal sealed record Part(UsageDimensions Dims, string Currency, long Calls, long Failures, long InputTokens, long OutputTokens,
        decimal? Cost, int[]? Histogram, int Bucket);

    /// <summary>
    /// What one evaluation cycle already read: alerts with different windows share today's raw events
    /// and the aggregated days they have in common, so each is read once per cycle.
    /// </summary>
    public sealed class CycleCache
    {
        internal Dictionary<(DateTimeOffset, DateTimeOffset), List<Part>> Raw { get; } = [];
        internal Dictionary<DateOnly, List<Part>> Stats { get; } = [];
    }

    public async Task<WindowData> LoadAsync(DateTimeOffset start, DateTimeOffset end, CycleCache cache, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        // Grouping a day of raw events is one big aggregate: give it memory, and skip JIT (compiling costs more than it saves here).
        await conn.ExecuteAsync("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off", transaction: tx);
        var startDay = DateOnly.FromDateTime(start.UtcDateTime);
        var endDay = DateOnly.FromDateTime(end.UtcDateTime);
        var aggregated = (await conn.QueryAsync<(DateTime Date, bool HasRaw)>(new CommandDefinition(
            """
            SELECT date, to_regclass(agentmeter_event_partition_name(date)) IS NOT NULL
            FROM aggregated_days WHERE date BETWEEN @from AND @to
            """, new { from = startDay.ToDateTime(TimeOnly.MinValue), to = endDay.ToDateTime(TimeOnly.MinValue) }, tx, cancellationToken: ct)))
            .ToList();
        var statsDays = aggregated
            .Where(a => DateOnly.FromDateTime(a.Date) > startDay || !a.HasRaw)
            .Select(a => DateOnly.FromDateTime(a.Date))
            .ToHashSet();

        var missing = statsDays.Where(d => !cache.Stats.ContainsKey(d)).ToArray();
        if (missing.Length > 0)
            foreach (var (day, dayParts) in await LoadStatsAsync(conn, missing, ct))
                cache.Stats[day] = dayParts;
        var parts = statsDays.SelectMany(d => cache.Stats[d]).ToList();
        foreach (var range in RawRanges(start, end, statsDays))
        {
            if (!cache.Raw.TryGetValue(range, out var raw)) cache.Raw[range] = raw = await LoadRawAsync(conn, range.From, range.To, ct);
            parts.AddRange(raw);
        }

        var openBreakers = (await conn.QueryAsync<string>(new CommandDefinition(
            """
            SELECT server_label FROM (
                SELECT DISTINCT ON (server_label) server_label, state FROM server_health_events
                WHERE time < @start ORDER BY server_label, time DESC) before_window
            WHERE state = 'open'
            UNION
            SELECT server_label FROM server_health_events WHERE time >= @start AND time <= @end AND state = 'open'
            """, new { start, end }, tx, cancellationToken: ct))).ToHashSet();

        var webhooks = (await conn.QueryAsync<(string Tenant, long Attempts, long Failures)>(new CommandDefinition(
            """
            SELECT coalesce(tenant_id, ''), count(*), count(*) FILTER (WHERE NOT succeeded)
            FROM webhook_attempts WHERE attempted_at > @start AND attempted_at <= @end GROUP BY 1
            """, new { start, end }, tx, cancellationToken: ct))).ToDictionary(r => r.Tenant, r => (r.Attempts, r.Failures));
        await tx.CommitAsync(ct);

        return new WindowData(Merge(parts), openBreakers, webhooks);
    }

    /// <summary>Contiguous, half-open time ranges of the window whose days are read from raw events.</summary>
    private static IEnumerable<(DateTimeOffset From, DateTimeOffset To)> RawRanges(DateTimeOffset start, DateTimeOffset end, IReadOnlySet<DateOnly> statsDays)
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
        // The last range includes "now" itself (1 µs, the database's resolution).
        if (open is { } last) yield return (last, end.AddTicks(10));
    }

    private static List<UsageRow> Merge(List<Part> parts)
    {
        var rows = new Dictionary<(UsageDimensions, string), UsageRow>();
        foreach (var p in parts)
        {
            if (!rows.TryGetValue((p.Dims, p.Currency), out var row)) rows[(p.Dims, p.Currency)] = row = new UsageRow(p.Dims, p.Currency);
            // Saturating: the database caps each part, not their sum.
            row.Calls = Add(row.Calls, p.Calls);
            row.Failures = Add(row.Failures, p.Failures);
            row.InputTokens = Add(row.InputTokens, p.InputTokens);
            row.OutputTokens = Add(row.OutputTokens, p.OutputTokens);
            if (p.Cost is { } cost) row.Cost = (row.Cost ?? 0) + cost;
            if (p.Histogram is { } h)
                for (var i = 0; i < h.Length && i < LatencyBuckets.Count; i++) row.Histogram[i] += h[i];
            else row.Histogram[Math.Clamp(p.Bucket, 0, LatencyBuckets.Count - 1)] += p.Calls;
        }
        return rows.Values.ToList();
    }

    /// <summary>The days' usage_stats rows (every revision), by day: handed to the cycle's cache only once all were read.</summary>
    private static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private static async Task<Dictionary<DateOnly, List<Part>>> LoadStatsAsync(NpgsqlConnection conn, DateOnly[] days, CancellationToken ct)
    {
        var byDay = days.ToDictionary(d => d, _ => new List<Part>());
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT {string.Join(", ", Dimension.All.Select(d => d.Column))}, coalesce(currency, ''),
                   call_count, failure_count, estimated_input_tokens, estimated_output_tokens, estimated_cost, latency_histogram, date
            FROM usage_stats WHERE date = ANY($1)
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = days });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            byDay[r.GetFieldValue<DateOnly>(Dims + 7)].Add(new Part(Read(r), r.GetString(Dims), r.GetInt64(Dims + 1), r.GetInt64(Dims + 2),
                r.GetInt64(Dims + 3), r.GetInt64(Dims + 4), r.IsDBNull(Dims + 5) ? null : r.GetDecimal(Dims + 5), r.GetFieldValue<int[]>(Dims + 6), 0));
        return byDay;
    }

    private static async Task<List<Part>> LoadRawAsync(NpgsqlConnection conn, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT {string.Join(", ", Dimension.All.Select(d => $"coalesce({d.EventColumn}, '')"))}, coalesce(currency, ''),
                   count(*) FILTER (WHERE type = 'tool_call'), count(*) FILTER (WHERE status = 'failure'),
                   agentmeter_bigint_sum(coalesce(sum(estimated_input_tokens), 0)), agentmeter_bigint_sum(coalesce(sum(estimated_output_tokens), 0)),
                   agentmeter_day_cost(sum(estimated_cost)), agentmeter_latency_bucket(latency_ms)
            FROM usage_events_estimated
            WHERE time >= $1 AND time < $2
            GROUP BY {string.Join(", ", Enumerable.Range(1, Dims + 1))}, {Dims + 7}
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime });
        cmd.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime });
        var parts = new List<Part>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
            parts.Add(new Part(Read(r), r.GetString(Dims), r.GetInt64(Dims + 1), r.GetInt64(Dims + 2), r.GetInt64(Dims + 3), r.GetInt64(Dims + 4),
                r.IsDBNull(Dims + 5) ? null : r.GetDecimal(Dims + 5), null, r.GetInt32(Dims + 6)));
        return parts;
    }

    /// <summary>The dimension columns open both queries, in <see cref="Dimension.All"/> order; the other columns follow.</summary>
    private static readonly int Dims = Dimension.All.Count;

    private static UsageDimensions Read(NpgsqlDataReader r)
    {
        var values = new string[Dims];
        for (var i = 0; i < Dims; i++) values[i] = r.GetString(i);
        return new UsageDimensions(values);
    }
}
