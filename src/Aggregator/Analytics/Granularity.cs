using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>A run of the requested range held at one granularity (daily, or monthly once retention rolled it up).</summary>
public sealed record GranularityPart(DateOnly From, DateOnly To, string Granularity);

/// <summary>
/// Which parts of a range usage_stats_all answers from daily rows and which from monthly rows. A
/// monthly part covers its whole month, also where that reaches beyond the range: a month's rows
/// cannot be split into days.
/// </summary>
public static class Granularity
{
    public const string Daily = "daily";
    public const string Monthly = "monthly";

    public static async Task<IReadOnlyList<GranularityPart>> PartsAsync(NpgsqlConnection conn, DateOnly from, DateOnly to, CancellationToken ct)
    {
        // One index probe per month of the range, instead of reading the monthly rows.
        await using var cmd = new NpgsqlCommand(
            """
            SELECT m::date FROM generate_series(date_trunc('month', $1::date), $2::date, interval '1 month') m
            WHERE EXISTS (SELECT 1 FROM usage_stats_monthly WHERE month = m::date)
            """, conn);
        cmd.Parameters.Add(new() { Value = from });
        cmd.Parameters.Add(new() { Value = to });
        var months = new HashSet<DateOnly>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) months.Add(reader.GetFieldValue<DateOnly>(0));
        return Split(from, to, months);
    }

    public static IReadOnlyList<GranularityPart> Split(DateOnly from, DateOnly to, IReadOnlySet<DateOnly> rolledUpMonths)
    {
        var parts = new List<GranularityPart>();
        var day = from;
        while (day <= to)
        {
            var month = new DateOnly(day.Year, day.Month, 1);
            if (rolledUpMonths.Contains(month))
            {
                parts.Add(new GranularityPart(month, month.AddMonths(1).AddDays(-1), Monthly));
                day = month.AddMonths(1);
                continue;
            }
            var start = day;
            while (day <= to && !rolledUpMonths.Contains(new DateOnly(day.Year, day.Month, 1))) day = day.AddDays(1);
            parts.Add(new GranularityPart(start, day.AddDays(-1), Daily));
        }
        return parts;
    }
}
