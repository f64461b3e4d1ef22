using AgentMeter.Aggregator.Aggregation;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// Writes the pass's usage_stats rows summed per group_by dimension into usage_stats_by_dimension
/// (SQL function agentmeter_rollup_dimensions, migration 0203), in the pass's transaction.
/// </summary>
public sealed class DimensionRollup : IDailyRollup
{
    public Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DayPass pass, CancellationToken ct) =>
        Rollups.CallAsync(connection, transaction, "SELECT agentmeter_rollup_dimensions($1, $2)", ct, pass.Day, pass.Revision);
}

/// <summary>Writes the pass's tool calls per UTC hour into usage_stats_hourly (agentmeter_rollup_hourly), for the heatmap.</summary>
public sealed class HourlyToolRollup : IDailyRollup
{
    public Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DayPass pass, CancellationToken ct) =>
        Rollups.CallAsync(connection, transaction, "SELECT agentmeter_rollup_hourly($1, $2, $3::regclass)", ct, pass.Day, pass.Revision, pass.EventsTable);
}

internal static class Rollups
{
    public static async Task CallAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct, params object[] values)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values) cmd.Parameters.Add(new() { Value = value });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
