using AgentMeter.Entities.Domain;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>Failure rates of one day; a rate is null (not zero) on a day with nothing to divide by.</summary>
public sealed record ErrorDay(
    DateOnly Date, string Granularity, long ToolCalls, long ToolFailures, double? ToolFailureRate,
    long WebhookDeliveries, long WebhookFailures, double? WebhookFailureRate);

public sealed record ToolErrors(string Tool, long Calls, long Failures, double? FailureRate);

public sealed record ErrorsResponse(DateOnly From, DateOnly To, IReadOnlyList<GranularityPart> Granularity,
    IReadOnlyList<ErrorDay> Days, IReadOnlyList<ToolErrors> ByTool);

/// <summary><c>GET /api/v1/analytics/errors</c>: tool failure rate per day (per-dimension rollup and monthly rows) and webhook delivery failure rate per day (webhook_attempts).</summary>
public sealed class ErrorsQuery(NpgsqlDataSource db)
{

    public async Task<ErrorsResponse> RunAsync(AnalyticsRequest r, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var layout = await Granularity.LayoutAsync(conn, r.From, r.To, ct);
        // Days from the tenant dimension (every usage row once), tools from the tool dimension.
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT period_start, granularity, sum(call_count)::bigint, sum(failure_count)::bigint
            FROM ({DimensionSource.Sql(r, Dimension.Tenant, layout, "t")}) src GROUP BY 1, 2 ORDER BY 1;
            SELECT key, sum(call_count)::bigint, sum(failure_count)::bigint
            FROM ({DimensionSource.Sql(r, Dimension.Tool, layout, "g")}) src GROUP BY 1 ORDER BY 3 DESC, key COLLATE "C";
            """, conn);
        DimensionSource.Bind(cmd, r, Dimension.Tenant, layout, "t");
        DimensionSource.Bind(cmd, r, Dimension.Tool, layout, "g");
        var tools = new List<(DateOnly Date, string Granularity, long Calls, long Failures)>();
        var byTool = new List<ToolErrors>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
                tools.Add((reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
                byTool.Add(new ToolErrors(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), Rate(reader.GetInt64(2), reader.GetInt64(1))));
        }

        var webhooks = await WebhookDaysAsync(conn, r, ct);
        var dates = tools.Select(t => (t.Date, t.Granularity))
            .Concat(webhooks.Keys.Select(d => (d, Granularity.Daily)))
            .Distinct().OrderBy(d => d.Item1);
        var toolsByDate = tools.ToDictionary(t => t.Date);
        var days = dates.Select(d =>
        {
            var t = toolsByDate.GetValueOrDefault(d.Item1);
            var w = webhooks.GetValueOrDefault(d.Item1);
            return new ErrorDay(d.Item1, d.Item2, t.Calls, t.Failures, Rate(t.Failures, t.Calls),
                w.Attempts, w.Failures, Rate(w.Failures, w.Attempts));
        }).ToList();
        return new ErrorsResponse(r.From, r.To, layout.Parts, days, byTool);
    }

    /// <summary>Delivery attempts per UTC day; a tenant sees the attempts of its own alerts only.</summary>
    private static async Task<Dictionary<DateOnly, (long Attempts, long Failures)>> WebhookDaysAsync(
        NpgsqlConnection conn, AnalyticsRequest r, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT (attempted_at AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE NOT succeeded)
            FROM webhook_attempts
            WHERE attempted_at >= @start AND attempted_at < @end{(r.Tenant is null ? "" : " AND tenant_id = @tenant")}
            GROUP BY 1
            """, conn);
        cmd.Parameters.AddWithValue("start", r.Start);
        cmd.Parameters.AddWithValue("end", r.End);
        if (r.Tenant is not null) cmd.Parameters.AddWithValue("tenant", r.Tenant);
        var days = new Dictionary<DateOnly, (long, long)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            days[reader.GetFieldValue<DateOnly>(0)] = (reader.GetInt64(1), reader.GetInt64(2));
        return days;
    }

    private static double? Rate(long failures, long total) => total == 0 ? null : (double)failures / total;
}
