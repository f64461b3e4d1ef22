using AgentMeter.Aggregator.Aggregation;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// Writes the pass's usage_stats rows summed per group_by dimension into usage_stats_by_dimension
/// (SQL function agentmeter_rollup_dimensions, Database/Definitions/50_rollups.sql), in the pass's transaction.
/// </summary>
public sealed class DimensionRollup : IDailyRollup
{
    public Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DayPass pass, CancellationToken ct) =>
        Rollups.CallAsync(connection, transaction, "SELECT agentmeter_rollup_dimensions($1, $2)", ct, pass.Day, pass.Revision);
}
