using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>Calls of one tool in one UTC hour of one ISO weekday (1 = Monday … 7 = Sunday), summed over the range.</summary>
public sealed record HeatmapCell(string Tool, int DayOfWeek, int Hour, long Calls);

public sealed record HeatmapResponse(DateOnly From, DateOnly To, IReadOnlyList<string> Tools, IReadOnlyList<HeatmapCell> Cells);

/// <summary><c>GET /api/v1/analytics/heatmap</c>, from the hourly aggregate written at aggregation time.</summary>
public sealed class HeatmapQuery(NpgsqlDataSource db)
{
    public async Task<HeatmapResponse> RunAsync(AnalyticsRequest r, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"""
            SELECT tool_name, extract(isodow FROM date)::int, hour::int, sum(call_count)::bigint,
                   sum(sum(call_count)) OVER (PARTITION BY tool_name) AS tool_calls
            FROM usage_stats_hourly
            WHERE date BETWEEN @from AND @to{(r.Tenant is null ? "" : " AND tenant_id = @tenant")}
            GROUP BY 1, 2, 3
            ORDER BY tool_calls DESC, 1, 2, 3
            """);
        StatsFilter.Bind(cmd, r);
        var cells = new List<HeatmapCell>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            cells.Add(new HeatmapCell(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3)));
        // Tools busiest first, as the rows come.
        return new HeatmapResponse(r.From, r.To, cells.Select(c => c.Tool).Distinct().ToList(), cells);
    }
}
