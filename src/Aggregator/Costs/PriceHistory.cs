using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Costs;

/// <summary>One persisted rate as the price history shows it.</summary>
public sealed record RateEntry(
    string Name, string Currency, string? InputPerMillionTokens, string? OutputPerMillionTokens,
    string? CachedInputPerMillionTokens, string? ToolCallPrice, DateOnly EffectiveFrom, DateOnly? EffectiveTo,
    bool InForce, int BytesPerToken, long? MaxOutputTokens);

/// <summary>The price history of one model or one MCP server, oldest rate first.</summary>
public sealed record PriceHistoryEntry(string? Model, string? Server, IReadOnlyList<RateEntry> Rates);

public sealed record PriceHistoryResponse(
    DateOnly Today, IReadOnlyList<PriceHistoryEntry> Models, IReadOnlyList<PriceHistoryEntry> Servers, IReadOnlyList<RateProblem> Problems);

/// <summary>Reads <c>cost_rates</c> as price histories: which rate applies from when, and which one is in force today.</summary>
public sealed class PriceHistory(NpgsqlDataSource db, CostRateSync sync, TimeProvider time)
{
    private sealed class Row
    {
        public string Name { get; init; } = "";
        public string? Model { get; init; }
        public string? ServerLabel { get; init; }
        public string Currency { get; init; } = "";
        public decimal InputPerMillion { get; init; }
        public decimal OutputPerMillion { get; init; }
        public decimal? CachedInputPerMillion { get; init; }
        public decimal? ToolCallPrice { get; init; }
        public DateOnly EffectiveFrom { get; init; }
        public int BytesPerToken { get; init; }
        public long? MaxOutputTokens { get; init; }
    }

    public async Task<PriceHistoryResponse> ReadAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var rows = await conn.QueryAsync<Row>(new CommandDefinition(
            """
            SELECT name, model, server_label AS serverlabel, currency, input_per_million AS inputpermillion,
                   output_per_million AS outputpermillion, cached_input_per_million AS cachedinputpermillion,
                   tool_call_price AS toolcallprice, effective_from AS effectivefrom, bytes_per_token AS bytespertoken,
                   max_output_tokens AS maxoutputtokens
            FROM cost_rates ORDER BY model, server_label, effective_from
            """, cancellationToken: ct));
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var histories = rows
            .GroupBy(r => (r.Model, r.ServerLabel))
            .Select(g => new PriceHistoryEntry(g.Key.Model, g.Key.ServerLabel, Entries(g.ToList(), today)))
            .ToList();
        return new PriceHistoryResponse(
            today,
            histories.Where(h => h.Model is not null).ToList(),
            histories.Where(h => h.Server is not null).ToList(),
            sync.Last.Problems);
    }

    private static List<RateEntry> Entries(List<Row> rows, DateOnly today)
    {
        // The rate in force on a day is the one with the latest effectiveFrom on or before it.
        var starts = rows.Select(r => r.EffectiveFrom).ToList();
        var inForce = starts.FindLastIndex(d => d <= today);
        return rows.Select((r, i) => new RateEntry(
            r.Name, r.Currency,
            r.ServerLabel is null ? Money.Text(r.InputPerMillion) : null,
            r.ServerLabel is null ? Money.Text(r.OutputPerMillion) : null,
            Money.Text(r.CachedInputPerMillion), Money.Text(r.ToolCallPrice),
            starts[i], i + 1 < starts.Count ? starts[i + 1].AddDays(-1) : null,
            i == inForce, r.BytesPerToken, r.MaxOutputTokens)).ToList();
    }
}
