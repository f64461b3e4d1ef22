using AgentMeter.Entities.Domain;
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
/// <c>GET /api/v1/analytics/usage</c>: calls, outcomes, latency and tokens per group, from the
/// per-dimension rollup (totals and series from the tenant dimension, which holds every row once).
/// p95 is exact where a group is one usage_stats row, else read from the merged latency histograms
/// (within 12.5 %).
/// </summary>
public sealed class UsageQuery(NpgsqlDataSource db)
{

    private sealed record Sums(long Rows, long Calls, long Successes, long Failures, double TotalLatency, double MaxP95, long In, long Out);

    // Token sums saturate at the largest bigint (Definitions/10_bounded_arithmetic.sql): stored rows are bounded, their sums over a range are not.
    private const string SumColumns = """
        coalesce(sum(stats_rows), 0)::bigint, coalesce(sum(call_count), 0)::bigint, coalesce(sum(success_count), 0)::bigint,
        coalesce(sum(failure_count), 0)::bigint, coalesce(sum(total_latency_ms), 0), coalesce(max(max_p95_latency_ms), 0),
        agentmeter_bigint_sum(coalesce(sum(estimated_input_tokens), 0)), agentmeter_bigint_sum(coalesce(sum(estimated_output_tokens), 0))
        """;

    public async Task<UsageResponse> RunAsync(AnalyticsRequest r, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var layout = await Granularity.LayoutAsync(conn, r.From, r.To, ct);
        var all = DimensionSource.Sql(r, Dimension.Tenant, layout, "t");
        var grouped = DimensionSource.Sql(r, r.GroupBy, layout, "g");
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT {SumColumns} FROM ({all}) src;
            SELECT key, {SumColumns} FROM ({grouped}) src GROUP BY key ORDER BY sum(call_count) DESC, key COLLATE "C" LIMIT @limit;
            SELECT period_start, granularity, sum(call_count)::bigint, sum(failure_count)::bigint FROM ({all}) src
            GROUP BY 1, 2 ORDER BY 1;
            """, conn);
        DimensionSource.Bind(cmd, r, Dimension.Tenant, layout, "t");
        DimensionSource.Bind(cmd, r, r.GroupBy, layout, "g");
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

        var (totalHistogram, groupHistograms) = await HistogramsAsync(conn, r, layout, groups.Where(g => g.Sums.Rows > 1).Select(g => g.Key).ToArray(), ct);
        return new UsageResponse(
            r.From, r.To, r.GroupBy.Name, layout.Parts,
            Figures(totals, totalHistogram),
            groups.Select(g =>
            {
                var f = Figures(g.Sums, groupHistograms.GetValueOrDefault(g.Key));
                return new UsageGroup(g.Key, f.Calls, f.Successes, f.Failures, f.ErrorRate, f.AvgLatencyMs, f.P95LatencyMs, f.InputTokens, f.OutputTokens);
            }).ToList(),
            series);
    }

    private static Sums ReadSums(NpgsqlDataReader reader, int o) => new(
        reader.GetInt64(o), reader.GetInt64(o + 1), reader.GetInt64(o + 2), reader.GetInt64(o + 3),
        reader.GetDouble(o + 4), reader.GetDouble(o + 5), reader.GetInt64(o + 6), reader.GetInt64(o + 7));

    private static UsageFigures Figures(Sums s, Dictionary<int, long>? histogram) => new(
        s.Calls, s.Successes, s.Failures,
        s.Calls == 0 ? null : (double)s.Failures / s.Calls,
        s.Calls == 0 ? null : s.TotalLatency / s.Calls,
        // One usage_stats row carries the exact p95; several are merged through their histograms.
        // A group of model calls only has no latency.
        s.Calls == 0 ? null : s.Rows == 1 ? s.MaxP95 : histogram is null ? null : LatencyBuckets.Quantile(histogram, 0.95),
        s.In, s.Out);

    /// <summary>Merged latency histograms of everything and of the given groups.</summary>
    private static async Task<(Dictionary<int, long> Total, Dictionary<string, Dictionary<int, long>> Groups)> HistogramsAsync(
        NpgsqlConnection conn, AnalyticsRequest r, DataLayout layout, string[] keys, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT true, NULL, u.b, sum(u.c)::bigint
            FROM ({DimensionSource.Sql(r, Dimension.Tenant, layout, "t")}) src, unnest(latency_buckets, latency_counts) u(b, c)
            GROUP BY u.b
            UNION ALL
            SELECT false, key, u.b, sum(u.c)::bigint
            FROM ({DimensionSource.Sql(r, r.GroupBy, layout, "g")}) src, unnest(latency_buckets, latency_counts) u(b, c)
            WHERE key = ANY(@keys)
            GROUP BY key, u.b
            """, conn);
        DimensionSource.Bind(cmd, r, Dimension.Tenant, layout, "t");
        DimensionSource.Bind(cmd, r, r.GroupBy, layout, "g");
        cmd.Parameters.AddWithValue("keys", keys);
        var total = new Dictionary<int, long>();
        var groups = new Dictionary<string, Dictionary<int, long>>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var into = reader.GetBoolean(0) ? total
                : groups.TryGetValue(reader.GetString(1), out var h) ? h : groups[reader.GetString(1)] = [];
            into[reader.GetInt32(2)] = reader.GetInt64(3);
        }
        return (total, groups);
    }
}
