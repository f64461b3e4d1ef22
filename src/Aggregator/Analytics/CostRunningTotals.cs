using AgentMeter.Aggregator.Costs;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// The groups of a costs request and their costs per day, from usage_stats_cost_running (kept by
/// the triggers of Database/Definitions/60_cost_running_totals.sql): a group's sum over days s..e of a month is element e minus element s-1 of its running
/// totals, so each (group, month) is one row read instead of one per day. Only for ranges whose
/// days are all still daily (the running totals know nothing of retention's monthly rows).
/// </summary>
public static class CostRunningTotals
{
    /// <summary>
    /// One scan, no join: each (group, tenant, month) row of the range with its group's sums, the
    /// group's rank in its currency and the number of groups, for the top groups only. A group is
    /// listed where it has a daily rollup row in the range, as the daily rows list it. Each row
    /// also carries the running rollup-row counts and costs from day s-1 (or 1) to day e, from
    /// which <see cref="Read"/> takes the group's cost per day.
    /// </summary>
    public static string Sql(AnalyticsRequest r) =>
        $"""
        SELECT currency, key, cost, calls::bigint, agentmeter_bigint_sum(tin), agentmeter_bigint_sum(tout), n, month, s, day_rows, day_cost, first FROM (
            SELECT *, dense_rank() OVER (PARTITION BY currency ORDER BY cost DESC, key COLLATE "C") AS rank,
                   count(*) FILTER (WHERE first) OVER (PARTITION BY currency) AS n
            FROM (
                SELECT r.currency, r.key, b.month, b.s, r.stats_rows[b.s - 1:b.e] AS day_rows, r.cost[b.s - 1:b.e] AS day_cost,
                       sum(r.stats_rows[b.e] - coalesce(r.stats_rows[b.s - 1], 0)) OVER w AS stats_rows,
                       sum(r.cost[b.e] - coalesce(r.cost[b.s - 1], 0)) OVER w AS cost,
                       sum(r.calls[b.e] - coalesce(r.calls[b.s - 1], 0)) OVER w AS calls,
                       sum(r.input_tokens[b.e] - coalesce(r.input_tokens[b.s - 1], 0)) OVER w AS tin,
                       sum(r.output_tokens[b.e] - coalesce(r.output_tokens[b.s - 1], 0)) OVER w AS tout,
                       row_number() OVER w = 1 AS first
                FROM unnest(@rmonths, @rstarts, @rends) b(month, s, e)
                JOIN usage_stats_cost_running r ON r.dimension = @rdimension AND r.month = b.month{(r.Tenant is null ? "" : " AND r.tenant_id = @tenant")}
                WINDOW w AS (PARTITION BY r.currency, r.key)) parts
            WHERE stats_rows > 0) ranked
        WHERE rank <= @limit
        """;

    /// <summary>The months of the range from its first daily day on, each with its first and last day (s, e).</summary>
    public static void Bind(NpgsqlCommand cmd, AnalyticsRequest r, DataLayout layout)
    {
        var (months, starts, ends) = (new List<DateOnly>(), new List<int>(), new List<int>());
        var from = r.From > layout.DailyFrom ? r.From : layout.DailyFrom;
        var firstMonth = new DateOnly(from.Year, from.Month, 1);
        for (var month = firstMonth; month <= r.To; month = month.AddMonths(1))
        {
            months.Add(month);
            starts.Add(month == firstMonth ? from.Day : 1);
            ends.Add(month.AddMonths(1) <= r.To ? DateTime.DaysInMonth(month.Year, month.Month) : r.To.Day);
        }
        cmd.Parameters.AddWithValue("rdimension", r.GroupBy.Name);
        cmd.Parameters.AddWithValue("rmonths", months.ToArray());
        cmd.Parameters.AddWithValue("rstarts", starts.ToArray());
        cmd.Parameters.AddWithValue("rends", ends.ToArray());
    }

    /// <summary>Reads the groups once each and their costs per day (summed over tenants) into <paramref name="split"/>.</summary>
    public static async Task ReadAsync(NpgsqlDataReader reader, List<(string Currency, CostGroup Group, long Count)> groups,
        CostsByDay split, CancellationToken ct)
    {
        while (await reader.ReadAsync(ct))
        {
            var (currency, key) = (reader.GetString(0), reader.GetString(1));
            if (reader.GetBoolean(11))
                groups.Add((currency, new CostGroup(key, Money.Normalize(reader.GetDecimal(2)), null,
                    reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)), reader.GetInt64(6)));
            var (month, s) = (reader.GetFieldValue<DateOnly>(7), reader.GetInt32(8));
            var rows = reader.GetFieldValue<long[]>(9);
            var costs = reader.GetFieldValue<decimal[]>(10);
            // The slices start at day s-1, or at day 1 when s is 1 (nothing before it).
            var first = s == 1 ? 0 : 1;
            for (var i = first; i < rows.Length; i++)
            {
                var (rowsBefore, costBefore) = i == 0 ? (0L, 0m) : (rows[i - 1], costs[i - 1]);
                if (rows[i] == rowsBefore) continue; // no rollup row that day: no entry, as the daily rows give none
                split.Add(currency, month.AddDays(s - 1 + i - first), key, costs[i] - costBefore);
            }
        }
    }
}
