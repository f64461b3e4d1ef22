using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>Calls one rollup function with the pass's values, in the pass's transaction.</summary>
internal static class Rollups
{
    public static async Task CallAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct, params object[] values)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values) cmd.Parameters.Add(new() { Value = value });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
