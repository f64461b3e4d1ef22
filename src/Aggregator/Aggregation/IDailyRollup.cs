using Npgsql;

namespace AgentMeter.Aggregator.Aggregation;

/// <summary>
/// An extra per-day table written in the same transaction as the day's <c>usage_stats</c>, so a day
/// is aggregated completely or not at all (e.g. the hourly heatmap aggregate).
/// </summary>
public interface IDailyRollup
{
    Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateOnly day, CancellationToken ct);
}
