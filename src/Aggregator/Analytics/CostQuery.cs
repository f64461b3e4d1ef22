using AgentMeter.Aggregator.Costs;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

public sealed record CostGroup(string Key, decimal Cost, double? Share, long Calls, long InputTokens, long OutputTokens);

public sealed record CostPoint(DateOnly Date, string Granularity, decimal Cost, IReadOnlyDictionary<string, decimal> ByGroup);

/// <summary>Everything priced in one currency. Amounts of different currencies are never added up.</summary>
public sealed record CurrencyCosts(string Currency, decimal Total, int GroupCount, IReadOnlyList<CostGroup> Groups, IReadOnlyList<CostPoint> Series);

public sealed record UnpricedModel(string Model, long Calls, long InputTokens, long OutputTokens);

public sealed record Unpriced(long Calls, long InputTokens, long OutputTokens, IReadOnlyList<UnpricedModel> Models);

public sealed record CostResponse(
    DateOnly From, DateOnly To, string GroupBy, IReadOnlyList<GranularityPart> Granularity,
    IReadOnlyList<CurrencyCosts> Currencies, Unpriced Unpriced);

/// <summary>
/// <c>GET /api/v1/analytics/costs</c>: the costs stored with each aggregated day (priced at the rate
/// in force that day), per currency, per group and per day, plus the usage no rate priced.
/// </summary>
public sealed class CostQuery(NpgsqlDataSource db)
{
    private sealed record Cell(string? Currency, DateOnly Date, string Granularity, string Key, string? UnpricedModel,
        decimal Cost, long Calls, long In, long Out);

    public async Task<CostResponse> RunAsync(AnalyticsRequest r, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var parts = await Granularity.PartsAsync(conn, r.From, r.To, ct);
        var cells = await CellsAsync(conn, r, ct);
        return new CostResponse(r.From, r.To, r.GroupBy.Name, parts, Currencies(cells, r.Limit), UnpricedUsage(cells));
    }

    /// <summary>One scan: sums per currency, day and group; unpriced rows per model (estimated_cost NULL).</summary>
    private static async Task<List<Cell>> CellsAsync(NpgsqlConnection conn, AnalyticsRequest r, CancellationToken ct)
    {
        var col = r.GroupBy.Column;
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT CASE WHEN estimated_cost IS NULL THEN NULL ELSE currency END, period_start, granularity, {col},
                   CASE WHEN estimated_cost IS NULL THEN model END,
                   coalesce(sum(estimated_cost), 0), sum(call_count)::bigint,
                   sum(estimated_input_tokens)::bigint, sum(estimated_output_tokens)::bigint
            FROM usage_stats_all WHERE {StatsFilter.Where(r)}
            GROUP BY 1, 2, 3, 4, 5
            """, conn);
        StatsFilter.Bind(cmd, r);
        var cells = new List<Cell>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            cells.Add(new Cell(
                reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetFieldValue<DateOnly>(1), reader.GetString(2),
                reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetDecimal(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8)));
        return cells;
    }

    private static List<CurrencyCosts> Currencies(List<Cell> cells, int limit) =>
        cells.Where(c => c.UnpricedModel is null && c.Currency is not null)
            .GroupBy(c => c.Currency!)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var total = g.Sum(c => c.Cost);
                var all = g.GroupBy(c => c.Key)
                    .Select(k => new CostGroup(k.Key, Money.Normalize(k.Sum(c => c.Cost)),
                        total == 0 ? null : (double)(k.Sum(c => c.Cost) / total),
                        k.Sum(c => c.Calls), k.Sum(c => c.In), k.Sum(c => c.Out)))
                    .OrderByDescending(k => k.Cost).ThenBy(k => k.Key, StringComparer.Ordinal)
                    .ToList();
                var shown = all.Take(limit).ToList();
                var shownKeys = shown.Select(k => k.Key).ToHashSet();
                // The trend chart gets every day's total, and the split for the groups listed.
                var series = g.GroupBy(c => (c.Date, c.Granularity))
                    .OrderBy(d => d.Key.Date)
                    .Select(d => new CostPoint(d.Key.Date, d.Key.Granularity, Money.Normalize(d.Sum(c => c.Cost)),
                        d.Where(c => shownKeys.Contains(c.Key)).GroupBy(c => c.Key)
                            .ToDictionary(k => k.Key, k => Money.Normalize(k.Sum(c => c.Cost)))))
                    .ToList();
                return new CurrencyCosts(g.Key, Money.Normalize(total), all.Count, shown, series);
            })
            .ToList();

    private static Unpriced UnpricedUsage(List<Cell> cells)
    {
        var unpriced = cells.Where(c => c.UnpricedModel is not null).ToList();
        var models = unpriced.GroupBy(c => c.UnpricedModel!)
            .Select(m => new UnpricedModel(m.Key, m.Sum(c => c.Calls), m.Sum(c => c.In), m.Sum(c => c.Out)))
            .OrderByDescending(m => m.Calls).ThenBy(m => m.Model, StringComparer.Ordinal)
            .ToList();
        return new Unpriced(models.Sum(m => m.Calls), models.Sum(m => m.InputTokens), models.Sum(m => m.OutputTokens), models);
    }
}
