using System.Globalization;
using System.Text;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Costs;
using Npgsql;

namespace AgentMeter.Aggregator.Reports;

/// <summary>One group's month in one currency; unpriced usage has no currency and no cost (never a zero).</summary>
public sealed record ChargebackRow(string Key, string? Currency, decimal? Cost, bool Priced, long Calls, long InputTokens, long OutputTokens);

public sealed record ChargebackTotal(string Currency, decimal Cost);

public sealed record ChargebackAnswer(
    string Month, string GroupBy, IReadOnlyList<GranularityPart> Granularity, IReadOnlyList<ChargebackTotal> Totals, IReadOnlyList<ChargebackRow> Rows);

/// <summary>
/// <c>GET /api/v1/reports/chargeback</c>: a month's cost per tenant, agent, user or model and
/// currency, read from the rows the costs API reads (<see cref="DimensionSource"/>: daily rollup
/// and retention's monthly rows), so its sums are the costs API's for the month by construction. Like the
/// FOCUS export it holds closed days only: a report does not change once the month's days are aggregated.
/// </summary>
public sealed class ChargebackReport(NpgsqlDataSource db)
{
    public async Task<ChargebackAnswer> RunAsync(ReportRequest r, CancellationToken ct)
    {
        var range = new AnalyticsRequest(r.From, r.To, r.Tenant, r.GroupBy, AnalyticsParameters.MaxLimit);
        await using var conn = await db.OpenConnectionAsync(ct);
        var layout = await Granularity.LayoutAsync(conn, r.From, r.To, ct);
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT key, currency, sum(estimated_cost), agentmeter_bigint_sum(sum(call_count)),
                   agentmeter_bigint_sum(sum(estimated_input_tokens)), agentmeter_bigint_sum(sum(estimated_output_tokens))
            FROM ({DimensionSource.Sql(range, r.GroupBy, layout, "c", closedDaysOnly: true)}) src
            GROUP BY key, currency
            ORDER BY key COLLATE "C", currency COLLATE "C"
            """, conn);
        DimensionSource.Bind(cmd, range, r.GroupBy, layout, "c");
        var rows = new List<ChargebackRow>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                var currency = reader.GetString(1);
                var priced = currency.Length > 0;
                rows.Add(new ChargebackRow(reader.GetString(0), priced ? currency : null,
                    priced ? Money.Normalize(reader.GetDecimal(2)) : null, priced,
                    reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
            }
        var totals = rows.Where(x => x.Priced).GroupBy(x => x.Currency!)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ChargebackTotal(g.Key, Money.Normalize(g.Sum(x => x.Cost!.Value))))
            .ToList();
        return new ChargebackAnswer(r.Month.ToString("yyyy-MM", CultureInfo.InvariantCulture), r.GroupBy.Name, layout.Parts, totals, rows);
    }

    /// <summary>The answer as CSV, one line per row; the header names the grouping.</summary>
    public static async Task WriteCsvAsync(ChargebackAnswer answer, Stream body, CancellationToken ct)
    {
        // leaveOpen: the response body belongs to the server, not to this writer.
        await using var writer = new StreamWriter(body, new UTF8Encoding(false), bufferSize: 16 * 1024, leaveOpen: true);
        await writer.WriteAsync($"month,{answer.GroupBy},currency,cost,priced,calls,input_tokens,output_tokens\n");
        foreach (var row in answer.Rows)
        {
            ct.ThrowIfCancellationRequested();
            await writer.WriteAsync(string.Create(CultureInfo.InvariantCulture,
                $"{answer.Month},{Field(row.Key)},{row.Currency},{Money.Text(row.Cost)},{(row.Priced ? "true" : "false")},{row.Calls},{row.InputTokens},{row.OutputTokens}\n"));
        }
        await writer.FlushAsync(ct);
    }

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.</summary>
    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
}
