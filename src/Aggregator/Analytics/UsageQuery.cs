using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

public record UsageFigures(
    long Calls, long Successes, long Failures, double? ErrorRate, double? AvgLatencyMs, double? P95LatencyMs,
    long InputTokens, long OutputTokens);

public sealed record UsageGroup(
    string Key, long Calls, long Successes, long Failures, double? ErrorRate, double? AvgLatencyMs, double? P95LatencyMs,
    long InputTokens, long OutputTokens)
    : UsageFigures(Calls, Successes, Failures, ErrorRate, AvgLatencyMs, P95LatencyMs, InputTokens, OutputTokens);

public sealed record UsagePoint(DateOnly Date, string Granularity, long Calls, long Failures);

public sealed record UsageResponse(
    DateOnly From, DateOnly To, string GroupBy, IReadOnlyList<GranularityPart> Granularity,
    UsageFigures Totals, IReadOnlyList<UsageGroup> Groups, IReadOnlyList<UsagePoint> Series);

/// <summary>
/// <c>GET /api/v1/analytics/usage</c>: calls, outcomes, latency and tokens per group, from
/// usage_stats_all. p95 is exact where a group is one stored row, else read from the merged
/// latency histograms (within 12.5 %).
/// </summary>
public sealed class UsageQuery(NpgsqlDataSource db)
{
    private sealed record Sums(long Rows, long Calls, long Successes, long Failures, double TotalLatency, double MaxP95, long In, long Out);

    public async Task<UsageResponse> RunAsync(AnalyticsRequest r, CancellationToken ct)
    {
        var col = r.GroupBy.Column;
        var where = StatsFilter.Where(r);
        const string sums = """
            count(*), coalesce(sum(call_count), 0)::bigint, coalesce(sum(success_count), 0)::bigint,
            coalesce(sum(failure_count), 0)::bigint, coalesce(sum(total_latency_ms), 0), coalesce(max(p95_latency_ms), 0),
            coalesce(sum(estimated_input_tokens), 0)::bigint, coalesce(sum(estimated_output_tokens), 0)::bigint
            """;
        await using var conn = await db.OpenConnectionAsync(ct);
        var parts = await Granularity.PartsAsync(conn, r.From, r.To, ct);

        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT {sums} FROM usage_stats_all WHERE {where};
            SELECT {col}, {sums} FROM usage_stats_all WHERE {where}
            GROUP BY {col} ORDER BY sum(call_count) DESC, {col} LIMIT @limit;
            SELECT period_start, granularity, sum(call_count)::bigint, sum(failure_count)::bigint FROM usage_stats_all WHERE {where}
            GROUP BY period_start, granularity ORDER BY period_start, granularity;
            """, conn);
        StatsFilter.Bind(cmd, r);
        cmd.Parameters.AddWithValue("limit", r.Limit);

        Sums totals;
        var groups = new List<(string Key, Sums Sums)>();
        var series = new List<UsagePoint>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            totals = ReadSums(reader, 0);
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct)) groups.Add((reader.GetString(0), ReadSums(reader, 1)));
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
                series.Add(new UsagePoint(reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        var histograms = await HistogramsAsync(conn, r, groups.Where(g => g.Sums.Rows > 1).Select(g => g.Key).ToArray(), totals.Rows > 1, ct);
        return new UsageResponse(
            r.From, r.To, r.GroupBy.Name, parts,
            Figures(totals, histograms.GetValueOrDefault(TotalsKey)),
            groups.Select(g =>
            {
                var f = Figures(g.Sums, histograms.GetValueOrDefault(g.Key));
                return new UsageGroup(g.Key, f.Calls, f.Successes, f.Failures, f.ErrorRate, f.AvgLatencyMs, f.P95LatencyMs, f.InputTokens, f.OutputTokens);
            }).ToList(),
            series);
    }

    // Never a group key: keys are text, the totals marker is not a string any row can hold.
    private const string TotalsKey = "\0totals";

    private static Sums ReadSums(NpgsqlDataReader reader, int o) => new(
        reader.GetInt64(o), reader.GetInt64(o + 1), reader.GetInt64(o + 2), reader.GetInt64(o + 3),
        reader.GetDouble(o + 4), reader.GetDouble(o + 5), reader.GetInt64(o + 6), reader.GetInt64(o + 7));

    private static UsageFigures Figures(Sums s, Dictionary<int, long>? histogram) => new(
        s.Calls, s.Successes, s.Failures,
        s.Calls == 0 ? null : (double)s.Failures / s.Calls,
        s.Calls == 0 ? null : s.TotalLatency / s.Calls,
        // One stored row carries the exact p95; several are merged through their histograms.
        s.Rows == 0 ? null : s.Rows == 1 ? s.MaxP95 : histogram is null ? null : LatencyHistogram.Quantile(histogram, 0.95),
        s.In, s.Out);

    /// <summary>Merged latency histograms of the given groups (and of everything, as <see cref="TotalsKey"/>).</summary>
    private static async Task<Dictionary<string, Dictionary<int, long>>> HistogramsAsync(
        NpgsqlConnection conn, AnalyticsRequest r, string[] keys, bool totals, CancellationToken ct)
    {
        var merged = new Dictionary<string, Dictionary<int, long>>();
        if (keys.Length == 0 && !totals) return merged;
        var col = r.GroupBy.Column;
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT {col}, GROUPING({col}) = 1, u.ord::int - 1, sum(u.n)::bigint
            FROM usage_stats_all, unnest(latency_histogram) WITH ORDINALITY u(n, ord)
            WHERE {StatsFilter.Where(r)} AND u.n > 0
            GROUP BY GROUPING SETS (({col}, u.ord), (u.ord))
            HAVING GROUPING({col}) = 1 OR {col} = ANY(@keys)
            """, conn);
        StatsFilter.Bind(cmd, r);
        cmd.Parameters.AddWithValue("keys", keys);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var key = reader.GetBoolean(1) ? TotalsKey : reader.GetString(0);
            if (!merged.TryGetValue(key, out var h)) merged[key] = h = [];
            h[reader.GetInt32(2)] = reader.GetInt64(3);
        }
        return merged;
    }
}
