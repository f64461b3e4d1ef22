using AgentMeter.Aggregator.Aggregation;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>Writes the day's tool calls per UTC hour into usage_stats_hourly, in the day's aggregation transaction.</summary>
public sealed class HourlyToolRollup : IDailyRollup
{
    public async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateOnly day, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            INSERT INTO usage_stats_hourly (date, hour, tenant_id, tool_name, call_count, failure_count)
            SELECT $1, extract(hour FROM time AT TIME ZONE 'UTC')::smallint, coalesce(tenant_id, ''), coalesce(tool_name, ''),
                   count(*), count(*) FILTER (WHERE status = 'failure')
            FROM usage_events
            WHERE type = 'tool_call' AND time >= $2 AND time < $3
            GROUP BY 2, 3, 4
            """, connection, transaction);
        cmd.Parameters.Add(new() { Value = day });
        cmd.Parameters.Add(new() { Value = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) });
        cmd.Parameters.Add(new() { Value = day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
