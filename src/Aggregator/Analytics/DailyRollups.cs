using AgentMeter.Aggregator.Aggregation;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// Writes the day's usage_stats summed per group_by dimension into usage_stats_by_dimension
/// (SQL function agentmeter_rollup_dimensions, migration 0100), in the day's aggregation transaction.
/// </summary>
public sealed class DimensionRollup : IDailyRollup
{
    public Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateOnly day, CancellationToken ct) =>
        Rollups.CallAsync(connection, transaction, "agentmeter_rollup_dimensions", day, ct);
}

/// <summary>Writes the day's tool calls per UTC hour into usage_stats_hourly (agentmeter_rollup_hourly), for the heatmap.</summary>
public sealed class HourlyToolRollup : IDailyRollup
{
    public Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateOnly day, CancellationToken ct) =>
        Rollups.CallAsync(connection, transaction, "agentmeter_rollup_hourly", day, ct);
}

internal static class Rollups
{
    public static async Task CallAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string function, DateOnly day, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT {function}($1)", connection, transaction);
        cmd.Parameters.Add(new() { Value = day });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
