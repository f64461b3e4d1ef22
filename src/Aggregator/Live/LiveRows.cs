using AgentMeter.Aggregator.Aggregation;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Live;

/// <summary>
/// The live rows of a day (revision -1: usage_stats_live and its rollups). Deleted by the transaction that
/// aggregates the day, which writes the same figures as its revision 0, so a day's answers are the same before and
/// after: registered as an <see cref="IDailyRollup"/> of the day's own pass (corrections come after, and leave them).
/// </summary>
public sealed class LiveRows : IDailyRollup
{
    public const int Revision = -1;

    public async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DayPass pass, CancellationToken ct)
    {
        if (pass.Revision != 0) return;
        await DeleteAsync(connection, transaction, pass.Day, ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM live_days WHERE date = @day", new { day = pass.Day }, transaction,
            cancellationToken: ct));
    }

    /// <summary>Deletes the day's live rows (the running cost totals follow through their triggers).</summary>
    public static Task DeleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateOnly day, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM usage_stats_live WHERE date = @day;
            DELETE FROM usage_stats_by_dimension WHERE date = @day AND revision = @rev;
            DELETE FROM usage_stats_hourly WHERE date = @day AND revision = @rev;
            """, new { day, rev = Revision }, transaction, cancellationToken: ct));
}
