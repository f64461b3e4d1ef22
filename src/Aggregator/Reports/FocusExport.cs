using System.Buffers;
using System.Data;
using System.Globalization;
using System.Text;
using AgentMeter.Aggregator.Analytics;
using Npgsql;

namespace AgentMeter.Aggregator.Reports;

/// <summary>
/// <c>GET /api/v1/reports/focus</c>: a month's priced usage as FinOps FOCUS 1.x CSV (docs/reports.md),
/// one row per day × tenant × agent × model × (tool, server, user) × currency, where a day of
/// corrections (revisions) is summed into its row. Days retention rolled up come from the monthly
/// rows: one row per month × the same key, its charge period the rolled-up days.
/// PostgreSQL writes the CSV itself (COPY … TO STDOUT) and its text is copied to the response as
/// it arrives: nothing of the month is held in the aggregator's memory, and a tenant token's filter
/// is a bound setting, never text in the statement.
/// </summary>
public sealed class FocusExport(NpgsqlDataSource db)
{
    private const int BufferChars = 32 * 1024;
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public async Task WriteAsync(ReportRequest r, Stream body, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        // One snapshot: a retention pass moving the month meanwhile shows each day once, daily or monthly.
        await using var tx = await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var layout = await Granularity.LayoutAsync(conn, r.From, r.To, ct);
        if (r.Tenant is not null)
        {
            // COPY takes no bind parameters: the tenant travels as a transaction-local setting.
            await using var set = new NpgsqlCommand("SELECT set_config('agentmeter.report_tenant', $1, true)", conn, tx);
            set.Parameters.Add(new NpgsqlParameter { Value = r.Tenant });
            await set.ExecuteNonQueryAsync(ct);
        }
        // Block by block from the COPY to the body with pooled buffers; leaveOpen: the body is the server's.
        var buffer = ArrayPool<char>.Shared.Rent(BufferChars);
        try
        {
            using (var copy = await conn.BeginTextExportAsync(Sql(r, layout), ct))
            await using (var writer = new StreamWriter(body, Utf8, BufferChars * 3, leaveOpen: true))
            {
                int read;
                while ((read = await copy.ReadAsync(buffer.AsMemory(0, BufferChars), ct)) > 0)
                    await writer.WriteAsync(buffer.AsMemory(0, read), ct);
                await writer.FlushAsync(ct);
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
        await tx.CommitAsync(ct);
    }

    /// <summary>The COPY statement; the only values in its text are dates the service formatted itself.</summary>
    public static string Sql(ReportRequest r, DataLayout layout)
    {
        var tenant = r.Tenant is null ? "" : " AND tenant_id = current_setting('agentmeter.report_tenant')";
        var monthEnd = r.Month.AddMonths(1);
        var monthly = "";
        if (layout.RolledUpMonths.Contains(r.Month))
        {
            // The month's rolled-up days run from its first day to the first day still daily.
            var end = layout.DailyFrom < monthEnd ? layout.DailyFrom : monthEnd;
            monthly =
                $"""

                UNION ALL
                SELECT month, {Date(end)}, 'monthly', tenant_id, agent_id, model, tool_name, mcp_server_label, user_id,
                       CASE WHEN estimated_cost IS NULL THEN '' ELSE currency END,
                       call_count::numeric, estimated_input_tokens::numeric, estimated_output_tokens::numeric, trim_scale(estimated_cost)
                FROM usage_stats_monthly WHERE month = {Date(r.Month)}{tenant}
                """;
        }
        return
            $"""
            COPY (
            SELECT {Timestamp(r.Month)} AS "BillingPeriodStart", {Timestamp(monthEnd)} AS "BillingPeriodEnd",
                   to_char(period_start, 'YYYY-MM-DD"T00:00:00Z"') AS "ChargePeriodStart",
                   to_char(period_end, 'YYYY-MM-DD"T00:00:00Z"') AS "ChargePeriodEnd",
                   'Usage' AS "ChargeCategory",
                   cost AS "BilledCost", cost AS "EffectiveCost", cost AS "ListCost",
                   nullif(currency, '') AS "BillingCurrency",
                   CASE WHEN tin + tout > 0 THEN trim_scale(round(cost / (tin + tout), 15)) END AS "ListUnitPrice",
                   tin + tout AS "PricingQuantity", 'Tokens' AS "PricingUnit",
                   tin + tout AS "ConsumedQuantity", 'Tokens' AS "ConsumedUnit",
                   'AI and Machine Learning' AS "ServiceCategory",
                   CASE WHEN model = '' THEN 'MCP tool calls' ELSE model END AS "ServiceName",
                   tenant_id AS "SubAccountId", agent_id AS "ResourceId",
                   {Tags} AS "Tags",
                   (currency <> '')::text AS "x_Priced", calls AS "x_Calls", tin AS "x_InputTokens", tout AS "x_OutputTokens",
                   granularity AS "x_Granularity"
            FROM (
                SELECT date AS period_start, date + 1 AS period_end, 'daily' AS granularity,
                       tenant_id, agent_id, model, tool_name, mcp_server_label, user_id,
                       CASE WHEN estimated_cost IS NULL THEN '' ELSE coalesce(currency, '') END AS currency,
                       sum(call_count) AS calls, sum(estimated_input_tokens) AS tin, sum(estimated_output_tokens) AS tout,
                       trim_scale(sum(estimated_cost)) AS cost
                FROM usage_stats
                WHERE date BETWEEN {Date(r.From)} AND {Date(r.To)} AND date >= {Date(layout.DailyFrom)}{tenant}
                GROUP BY 1, 4, 5, 6, 7, 8, 9, 10{monthly}
            ) usage(period_start, period_end, granularity, tenant_id, agent_id, model, tool_name, mcp_server_label, user_id,
                    currency, calls, tin, tout, cost)
            ORDER BY period_start, tenant_id COLLATE "C", agent_id COLLATE "C", model COLLATE "C", tool_name COLLATE "C",
                     mcp_server_label COLLATE "C", user_id COLLATE "C", currency COLLATE "C"
            ) TO STDOUT (FORMAT csv, HEADER)
            """;
    }

    /// <summary>
    /// The Tags object as text, each dimension the row has: concatenated, with no jsonb value to build
    /// and order per row of a million-row month.
    /// </summary>
    private const string Tags = """
        '{' || concat_ws(',', CASE WHEN model <> '' THEN '"model":' || to_json(model)::text END,
                           CASE WHEN tool_name <> '' THEN '"tool":' || to_json(tool_name)::text END,
                           CASE WHEN mcp_server_label <> '' THEN '"server":' || to_json(mcp_server_label)::text END,
                           CASE WHEN user_id <> '' THEN '"user":' || to_json(user_id)::text END) || '}'
        """;

    private static string Date(DateOnly day) => $"'{day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}'::date";

    private static string Timestamp(DateOnly day) => $"'{day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}T00:00:00Z'";
}
