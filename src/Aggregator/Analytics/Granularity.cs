using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>A run of the requested range held at one granularity (daily, or monthly once retention rolled it up).</summary>
public sealed record GranularityPart(DateOnly From, DateOnly To, string Granularity);

/// <summary>
/// Where the data of a range lives. Retention moves whole days, oldest first, out of usage_stats
/// into usage_stats_monthly (a month may be split: its early days rolled up, the rest still daily),
/// so the days still daily are exactly those from the first date left in usage_stats on. Daily
/// rollup rows of earlier days are stale (their days now live in monthly rows, or are gone) and
/// are never read.
/// </summary>
public sealed record DataLayout(DateOnly DailyFrom, IReadOnlyList<DateOnly> RolledUpMonths, IReadOnlyList<GranularityPart> Parts);

public static class Granularity
{
    public const string Daily = "daily";
    public const string Monthly = "monthly";

    public static async Task<DataLayout> LayoutAsync(NpgsqlConnection conn, DateOnly from, DateOnly to, CancellationToken ct)
    {
        // Index probes only: the first daily date, and one probe per month of the range.
        await using var cmd = new NpgsqlCommand(
            """
            SELECT (SELECT min(date) FROM usage_stats),
                   ARRAY(SELECT m::date FROM generate_series(date_trunc('month', $1::date), $2::date, interval '1 month') m
                         WHERE EXISTS (SELECT 1 FROM usage_stats_monthly WHERE month = m::date))
            """, conn);
        cmd.Parameters.Add(new() { Value = from });
        cmd.Parameters.Add(new() { Value = to });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        // No daily rows at all: every day after the last rolled-up month is still daily (not aggregated yet).
        var months = reader.GetFieldValue<DateOnly[]>(1);
        var dailyFrom = reader.IsDBNull(0)
            ? (months.Length == 0 ? DateOnly.MinValue : months.Max().AddMonths(1))
            : reader.GetFieldValue<DateOnly>(0);
        return new DataLayout(dailyFrom, months, Split(from, to, months.ToHashSet(), dailyFrom));
    }

    /// <summary>A day is monthly when it is before <paramref name="dailyFrom"/> and its month has monthly rows.</summary>
    public static IReadOnlyList<GranularityPart> Split(DateOnly from, DateOnly to, IReadOnlySet<DateOnly> rolledUpMonths, DateOnly dailyFrom)
    {
        var parts = new List<GranularityPart>();
        var day = from;
        while (day <= to)
        {
            var month = new DateOnly(day.Year, day.Month, 1);
            if (day < dailyFrom && rolledUpMonths.Contains(month))
            {
                // The month's rows cover its rolled-up days, also those before the range.
                var end = month.AddMonths(1).AddDays(-1);
                if (end >= dailyFrom) end = dailyFrom.AddDays(-1);
                parts.Add(new GranularityPart(month, end, Monthly));
                day = end.AddDays(1);
                continue;
            }
            var start = day;
            while (day <= to && !(day < dailyFrom && rolledUpMonths.Contains(new DateOnly(day.Year, day.Month, 1)))) day = day.AddDays(1);
            parts.Add(new GranularityPart(start, day.AddDays(-1), Daily));
        }
        return parts;
    }
}
