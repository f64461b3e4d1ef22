using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

public sealed record BreakerInterval(string State, DateTimeOffset From, DateTimeOffset To);

/// <summary>
/// One server's circuit breaker over the range. Uptime is the share of the known time the breaker
/// was not open (closed or half-open: calls flow); null when nothing is known.
/// </summary>
public sealed record ServerHealth(string Server, double? UptimePercent, string CurrentState, IReadOnlyList<BreakerInterval> Intervals);

public sealed record HealthResponse(DateOnly From, DateOnly To, IReadOnlyList<ServerHealth> Servers);

/// <summary>
/// <c>GET /api/v1/analytics/health</c>: circuit-breaker state intervals from server_health_events.
/// The state a server was in when the range starts is carried in from its last earlier transition;
/// the range ends at the end of its last day or now, whichever comes first.
/// </summary>
public sealed class HealthQuery(NpgsqlDataSource db, TimeProvider time)
{
    public async Task<HealthResponse> RunAsync(AnalyticsRequest r, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var start = new DateTimeOffset(r.Start);
        var end = new DateTimeOffset(r.End) < now ? new DateTimeOffset(r.End) : now;
        // A tenant sees the servers its own calls went to in the range, nothing else.
        var tenantServers = r.Tenant is null ? "" :
            """
             AND server_label IN (SELECT DISTINCT mcp_server_label FROM usage_stats_all
                                  WHERE tenant_id = @tenant AND period_end >= @from AND period_start <= @to)
            """;
        await using var cmd = db.CreateCommand(
            $"""
            SELECT server_label, time, state FROM (
                SELECT DISTINCT ON (server_label) server_label, time, state FROM server_health_events
                WHERE time < @start ORDER BY server_label, time DESC) carried
            WHERE true{tenantServers}
            UNION ALL
            SELECT server_label, time, state FROM server_health_events
            WHERE time >= @start AND time < @end{tenantServers}
            ORDER BY 1, 2
            """);
        cmd.Parameters.AddWithValue("start", start);
        cmd.Parameters.AddWithValue("end", end);
        StatsFilter.Bind(cmd, r);
        var events = new List<(string Server, DateTimeOffset Time, string State)>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                events.Add((reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2)));

        var servers = events.GroupBy(e => e.Server)
            .Select(g => Timeline(g.Key, g.Select(e => (e.Time < start ? start : e.Time, e.State)).ToList(), end))
            .ToList();
        return new HealthResponse(r.From, r.To, servers);
    }

    internal static ServerHealth Timeline(string server, IReadOnlyList<(DateTimeOffset Time, string State)> transitions, DateTimeOffset end)
    {
        var intervals = new List<BreakerInterval>();
        foreach (var (at, state) in transitions)
        {
            // A repeated report of the state the breaker is already in extends the interval.
            if (intervals.Count > 0 && intervals[^1].State == state) continue;
            if (intervals.Count > 0) intervals[^1] = intervals[^1] with { To = at };
            intervals.Add(new BreakerInterval(state, at, end));
        }
        // Two reports at the same instant leave an empty interval: the later one wins.
        intervals = intervals.Where((i, n) => i.To > i.From || n == intervals.Count - 1).ToList();
        var known = intervals.Sum(i => (i.To - i.From).TotalSeconds);
        var up = intervals.Where(i => i.State != "open").Sum(i => (i.To - i.From).TotalSeconds);
        return new ServerHealth(server, known > 0 ? Math.Round(100 * up / known, 3) : null, transitions[^1].State, intervals);
    }
}
