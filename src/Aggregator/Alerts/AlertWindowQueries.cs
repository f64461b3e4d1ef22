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
/// <para>
/// Raw events are not re-read every cycle: each closed minute (within an hour the window only partly
/// covers) or closed hour of a raw range is grouped once and kept across cycles with the watermark of
/// the read: a time before the start of every transaction still running when the read's snapshot was
/// taken, so every event that read did not see has an ingested_at at or after it (ingested_at is its
/// transaction's start). Each cycle asks, in the same snapshot as everything else it reads, which
/// segments hold events ingested since their watermark (the newest blocks, through
/// usage_events_ingested_brin) — a late event, the new minute — and groups those again; a segment
/// whose day partition was dropped, recreated or truncated is read again, as is everything when the cost rates
/// changed. The open edges — the part of the first minute after the window start and of the minute
/// holding "now" — are always grouped, through usage_events_estimated, in the same query. The segments
/// of a range are combined into exactly the rows one grouped read of the whole range gives (same caps),
/// so values do not depend on the cache.
/// </para>
/// </summary>
public sealed class AlertWindowQueries(NpgsqlDataSource db)
{
    /// <summary>
    /// A closed minute or hour of raw events, grouped; every event of it not in <paramref name="Parts"/> was
    /// ingested at or after <paramref name="Since"/>. <paramref name="Partition"/>: the storage (relfilenode) of its day's partition then.
    /// </summary>
    private sealed record Segment(DateTime Since, long Partition, List<Part> Parts);

    private readonly Dictionary<(DateTimeOffset Start, TimeSpan Length), Segment> _segments = [];
    private string? _rates;

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1), Hour = TimeSpan.FromHours(1);
    /// <summary>The origin both date_bin calls and <see cref="Floor"/> count minutes and hours from (UTC, never a time zone).</summary>
    private static readonly DateTimeOffset Origin = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

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
        internal HashSet<(DateTimeOffset, TimeSpan)> Used { get; } = [];
    }

    /// <summary>Forgets the raw segments the cycle did not use: the cache holds only what the windows in force read.</summary>
    public void EndCycle(CycleCache cache)
    {
        foreach (var key in _segments.Keys.Where(k => !cache.Used.Contains(k)).ToList()) _segments.Remove(key);
    }

    /// <summary>
    /// How long before the oldest running transaction's start the watermark is set: a transaction shows its
    /// start an instant after taking it (longer if descheduled in between); the margin covers that, and
    /// segments with events ingested within it are merely grouped again.
    /// </summary>
    private static readonly TimeSpan WatermarkMargin = TimeSpan.FromSeconds(10);

    public async Task<WindowData> LoadAsync(DateTimeOffset start, DateTimeOffset end, CycleCache cache, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        // Before the snapshot: any event it will not see belongs to a transaction running now or started later.
        var watermark = await conn.ExecuteScalarAsync<DateTime>(new CommandDefinition(
            "SELECT least(clock_timestamp(), min(xact_start)) - @margin FROM pg_stat_activity", new { margin = WatermarkMargin }, cancellationToken: ct));
        // One snapshot: which segments changed and what is read for them agree.
        await using var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
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
            if (!cache.Raw.TryGetValue(range, out var raw)) cache.Raw[range] = raw = await LoadRawAsync(conn, range.From, range.To, watermark, cache, ct);
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

    /// <summary>The raw usage of [from, to): cached closed segments that no event was ingested for since, the rest grouped now.</summary>
    private async Task<List<Part>> LoadRawAsync(NpgsqlConnection conn, DateTimeOffset from, DateTimeOffset to, DateTime watermark, CycleCache cache,
        CancellationToken ct)
    {
        // Estimates follow the cost rates: segments grouped under other rates are stale.
        var rates = await conn.ExecuteScalarAsync<string>("SELECT coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') FROM cost_rate_periods r");
        if (rates != _rates) _segments.Clear();
        _rates = rates;
        var (hoursFrom, hoursTo, closed) = Segments(from, to);
        // A day partition dropped, recreated or truncated took its events along, and no newer ingested_at says so: its
        // segments are stale. Each of those gives the partition new storage (TRUNCATE keeps the oid, not the relfilenode).
        var partitions = (await conn.QueryAsync<(DateTime Day, long Storage)>(new CommandDefinition(
                """
                SELECT d::date, coalesce(pg_relation_filenode(to_regclass(agentmeter_event_partition_name(d::date)))::bigint, 0)
                FROM generate_series(@from::date, @to::date, interval '1 day') d
                """, new { from = from.UtcDateTime, to = to.UtcDateTime }, cancellationToken: ct)))
            .ToDictionary(p => DateOnly.FromDateTime(p.Day), p => p.Storage);
        long PartitionOf(DateTimeOffset t) => partitions.GetValueOrDefault(DateOnly.FromDateTime(t.UtcDateTime));
        var cached = new Dictionary<DateTimeOffset, Segment>();
        foreach (var key in closed)
            if (_segments.TryGetValue(key, out var segment) && segment.Partition == PartitionOf(key.Start)) cached[key.Start] = segment;
        if (cached.Count > 0)
            await using (var cmd = new NpgsqlCommand(
                $"""
                SELECT {Label}, max(ingested_at) FROM usage_events
                WHERE time >= $1 AND time < $2 AND ingested_at >= $5 AND type IN ('tool_call', 'model_call') GROUP BY 1
                """, conn))
            {
                AddRange(cmd, from, to, hoursFrom, hoursTo);
                cmd.Parameters.Add(new NpgsqlParameter { Value = cached.Values.Min(c => c.Since) });
                await using var r = await cmd.ExecuteReaderAsync(ct);
                while (await r.ReadAsync(ct))
                    if (cached.TryGetValue(new DateTimeOffset(r.GetFieldValue<DateTime>(0), TimeSpan.Zero), out var c) && r.GetFieldValue<DateTime>(1) >= c.Since)
                        cached.Remove(new DateTimeOffset(r.GetFieldValue<DateTime>(0), TimeSpan.Zero));
            }

        var parts = new List<Part>();
        var load = new List<(DateTimeOffset Start, TimeSpan Length)>();
        foreach (var key in closed)
        {
            cache.Used.Add(key);
            if (cached.TryGetValue(key.Start, out var c))
            {
                parts.AddRange(c.Parts);
                // Nothing arrived for it up to this snapshot: what it does not see from now on arrives after this watermark.
                _segments[key] = c with { Since = watermark };
            }
            else load.Add(key);
        }
        // The open edges are partial minutes, never cached: their labels are the minutes they lie in.
        var spans = load.Select(k => (From: k.Start, To: k.Start + k.Length)).ToList();
        if (Floor(from, Minute) < from) spans.Add((from, Ceiling(from, Minute)));
        if (Floor(to, Minute) < to) spans.Add((Floor(to, Minute), to));
        var loaded = spans.Select(s => s.From == from ? Floor(from, Minute) : s.From).Distinct().ToDictionary(l => l, _ => new List<Part>());
        if (loaded.Count == 0) return Combine(parts);
        // Only the blocks of the spans read (usage_events_time_brin): adjacent spans as one range.
        var ranges = new List<(DateTimeOffset From, DateTimeOffset To)>();
        foreach (var span in spans.OrderBy(s => s.From))
            if (ranges.Count > 0 && ranges[^1].To >= span.From) ranges[^1] = (ranges[^1].From, span.To > ranges[^1].To ? span.To : ranges[^1].To);
            else ranges.Add(span);
        var within = string.Join(" OR ", ranges.Select((_, i) => $"(time >= ${6 + 2 * i} AND time < ${7 + 2 * i})"));
        await using (var cmd = new NpgsqlCommand(
            $"""
            SELECT {string.Join(", ", Dimension.All.Select(d => $"coalesce({d.EventColumn}, '')"))}, coalesce(currency, ''),
                   count(*) FILTER (WHERE type = 'tool_call'), count(*) FILTER (WHERE status = 'failure'),
                   agentmeter_bigint_sum(coalesce(sum(estimated_input_tokens), 0)), agentmeter_bigint_sum(coalesce(sum(estimated_output_tokens), 0)),
                   agentmeter_day_cost(sum(estimated_cost)), agentmeter_latency_bucket(latency_ms), label
            FROM (SELECT *, {Label} AS label FROM usage_events_estimated WHERE time >= $1 AND time < $2 AND ({within})) e
            WHERE label = ANY($5)
            GROUP BY {string.Join(", ", Enumerable.Range(1, Dims + 1))}, {Dims + 7}, label
            """, conn))
        {
            AddRange(cmd, from, to, hoursFrom, hoursTo);
            cmd.Parameters.Add(new NpgsqlParameter { Value = loaded.Keys.Select(l => l.UtcDateTime).ToArray() });
            foreach (var (f, t) in ranges)
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = f.UtcDateTime });
                cmd.Parameters.Add(new NpgsqlParameter { Value = t.UtcDateTime });
            }
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
                loaded[new DateTimeOffset(r.GetFieldValue<DateTime>(Dims + 7), TimeSpan.Zero)].Add(new Part(Read(r), r.GetString(Dims), r.GetInt64(Dims + 1),
                    r.GetInt64(Dims + 2), r.GetInt64(Dims + 3), r.GetInt64(Dims + 4), r.IsDBNull(Dims + 5) ? null : r.GetDecimal(Dims + 5), null,
                    r.GetInt32(Dims + 6)));
        }
        foreach (var key in load) _segments[key] = new Segment(watermark, PartitionOf(key.Start), loaded[key.Start]);
        parts.AddRange(loaded.Values.SelectMany(p => p));
        return Combine(parts);
    }

    /// <summary>
    /// The label of an event's segment (whole hours of the range by hour, the rest by minute), in SQL:
    /// $1, $2 the range, $3, $4 its whole hours.
    /// </summary>
    private const string Label =
        "CASE WHEN time >= $3 AND time < $4 THEN date_bin('1 hour', time, '2000-01-01Z') ELSE date_bin('1 minute', time, '2000-01-01Z') END";

    private static void AddRange(NpgsqlCommand cmd, DateTimeOffset from, DateTimeOffset to, DateTimeOffset hoursFrom, DateTimeOffset hoursTo)
    {
        foreach (var t in new[] { from, to, hoursFrom, hoursTo }) cmd.Parameters.Add(new NpgsqlParameter { Value = t.UtcDateTime });
    }

    /// <summary>
    /// The closed segments of [from, to): its whole hours [hoursFrom, hoursTo) and the whole minutes around them
    /// (hoursFrom = hoursTo when it holds no whole hour).
    /// </summary>
    private static (DateTimeOffset HoursFrom, DateTimeOffset HoursTo, List<(DateTimeOffset Start, TimeSpan Length)> Closed) Segments(DateTimeOffset from, DateTimeOffset to)
    {
        var m0 = Ceiling(from, Minute);
        var m1 = Floor(to, Minute);
        var closed = new List<(DateTimeOffset, TimeSpan)>();
        if (m0 >= m1) return (m0, m0, closed);
        var h0 = Ceiling(m0, Hour);
        var h1 = Floor(m1, Hour);
        if (h0 >= h1) h0 = h1 = m1;
        for (var t = m0; t < h0; t += Minute) closed.Add((t, Minute));
        for (var t = h0; t < h1; t += Hour) closed.Add((t, Hour));
        for (var t = h1 > h0 ? h1 : m1; t < m1; t += Minute) closed.Add((t, Minute));
        return (h0, h1, closed);
    }

    private static DateTimeOffset Floor(DateTimeOffset t, TimeSpan unit) => Origin + TimeSpan.FromTicks((t - Origin).Ticks / unit.Ticks * unit.Ticks);
    private static DateTimeOffset Ceiling(DateTimeOffset t, TimeSpan unit) => Floor(t, unit) == t ? t : Floor(t, unit) + unit;

    /// <summary>Segments' parts as one grouped read of their whole range gives them: per group and latency bucket, with its caps.</summary>
    private static List<Part> Combine(List<Part> parts)
    {
        var rows = new Dictionary<(UsageDimensions, string, int), Part>();
        foreach (var p in parts)
            rows[(p.Dims, p.Currency, p.Bucket)] = rows.TryGetValue((p.Dims, p.Currency, p.Bucket), out var q)
                ? q with
                {
                    Calls = Add(q.Calls, p.Calls), Failures = Add(q.Failures, p.Failures), InputTokens = Add(q.InputTokens, p.InputTokens),
                    OutputTokens = Add(q.OutputTokens, p.OutputTokens),
                    Cost = q.Cost is null && p.Cost is null ? null : Math.Min((q.Cost ?? 0) + (p.Cost ?? 0), MaxDayCost),
                }
                : p;
        return rows.Values.ToList();
    }

    /// <summary>agentmeter_day_cost's cap.</summary>
    private const decimal MaxDayCost = 100_000_000_000m;

    /// <summary>The dimension columns open both queries, in <see cref="Dimension.All"/> order; the other columns follow.</summary>
    private static readonly int Dims = Dimension.All.Count;

    private static UsageDimensions Read(NpgsqlDataReader r)
    {
        var values = new string[Dims];
        for (var i = 0; i < Dims; i++) values[i] = r.GetString(i);
        return new UsageDimensions(values);
    }
}
