using Npgsql;

namespace AgentMeter.Aggregator.Aggregation;

/// <summary>
/// What one aggregation transaction writes: the rows of <paramref name="Revision"/> of
/// <paramref name="Day"/> (0: the day itself; n ≥ 1: its n-th late-event correction), from the tool
/// calls in <paramref name="EventsTable"/> (usage_events, or the late events being applied).
/// </summary>
public sealed record DayPass(DateOnly Day, int Revision, string EventsTable)
{
    public DateTime Start => Day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
    public DateTime End => Start.AddDays(1);
}

/// <summary>
/// An extra per-day table written in the same transaction as the day's <c>usage_stats</c> rows (and
/// each correction's), so a day is aggregated completely or not at all (e.g. the hourly heatmap
/// aggregate). Rows carry the pass's revision, as usage_stats rows do.
/// </summary>
public interface IDailyRollup
{
    Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DayPass pass, CancellationToken ct);
}
