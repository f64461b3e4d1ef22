using AgentMeter.Aggregator.Aggregation;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>Writes the pass's tool calls per UTC hour into usage_stats_hourly (agentmeter_rollup_hourly), for the heatmap.</summary>
public sealed class HourlyToolRollup : IDailyRollup
{
    public Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DayPass pass, CancellationToken ct) =>
        Rollups.CallAsync(connection, transaction, "SELECT agentmeter_rollup_hourly($1, $2, $3::regclass)", ct, pass.Day, pass.Revision, pass.EventsTable);
}
