using AgentMeter.Aggregator.Costs;
using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// The groups of a costs request and their costs per day, from usage_stats_cost_running (migration
/// 0101): a group's sum over days s..e of a month is element e minus element s-1 of its running
/// totals, so each (group, month) is one row read instead of one per day. Only for ranges whose
/// days are all still daily (the running totals know nothing of retention's monthly rows).
/// </summary>
public static class CostRunningTotals
{
    /// <summary>
    /// 'g' rows: the top groups per currency (with the number of groups), listed where they have
    /// a daily rollup row in the range, as the daily rows list them. 's' rows: for each listed
    /// group and month, s (the first day of the range in the month) and the running rollup-row
    /// counts and costs from day s-1 (or 1) to the last day of the range in the month.
    /// </summary>
    public static string Sql(AnalyticsRequest r)
    {
        var tenant = r.Tenant is null ? "" : " AND tenant_id = @tenant";
        // Days s..e of each month row within the range (elements are days of the month, 1-based).
        const string bounds = "LATERAL (SELECT greatest(@rfrom - month + 1, 1) AS s, least(@to - month + 1, cardinality(r.stats_rows)) AS e) b";
        var where = $"r.dimension = @rdimension AND r.month BETWEEN @rfirstmonth AND @to{tenant}";
        return
            $"""
            WITH g AS (
                SELECT currency, key, sum(cost) AS cost, sum(calls) AS calls, sum(tin) AS tin, sum(tout) AS tout,
                       row_number() OVER (PARTITION BY currency ORDER BY sum(cost) DESC, key COLLATE "C") AS rank,
                       count(*) OVER (PARTITION BY currency) AS n
                FROM (SELECT currency, key, stats_rows[e] - coalesce(stats_rows[s - 1], 0) AS stats_rows,
                             cost[e] - coalesce(cost[s - 1], 0) AS cost, calls[e] - coalesce(calls[s - 1], 0) AS calls,
                             input_tokens[e] - coalesce(input_tokens[s - 1], 0) AS tin,
                             output_tokens[e] - coalesce(output_tokens[s - 1], 0) AS tout
                      FROM usage_stats_cost_running r, {bounds} WHERE {where}) x
                GROUP BY 1, 2 HAVING sum(stats_rows) > 0)
            SELECT 'g', currency, key, cost, calls::bigint, tin::bigint, tout::bigint, n, NULL::date, NULL::integer, NULL::bigint[], NULL::numeric[]
            FROM g WHERE rank <= @limit
            UNION ALL
            SELECT 's', r.currency, r.key, NULL, NULL, NULL, NULL, NULL, r.month, s, r.stats_rows[s - 1:e], r.cost[s - 1:e]
            FROM usage_stats_cost_running r JOIN g ON g.currency = r.currency AND g.key = r.key AND g.rank <= @limit, {bounds}
            WHERE {where}
            """;
    }

    public static void Bind(NpgsqlCommand cmd, AnalyticsRequest r, DataLayout layout)
    {
        // Days before the first daily one are not read (as DimensionSource reads them).
        var from = r.From > layout.DailyFrom ? r.From : layout.DailyFrom;
        cmd.Parameters.AddWithValue("rdimension", r.GroupBy.Name);
        cmd.Parameters.AddWithValue("rfrom", from);
        cmd.Parameters.AddWithValue("rfirstmonth", new DateOnly(from.Year, from.Month, 1));
    }

    /// <summary>Adds the costs per day of one 's' row to <paramref name="split"/> (summed over tenants).</summary>
    public static void AddDays(NpgsqlDataReader reader, Dictionary<(string, DateOnly), Dictionary<string, decimal>> split)
    {
        var (currency, key, month, s) = (reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateOnly>(8), reader.GetInt32(9));
        var rows = reader.GetFieldValue<long[]>(10);
        var costs = reader.GetFieldValue<decimal[]>(11);
        // The slice starts at day s-1, or at day 1 when s is 1 (nothing before it).
        var first = s == 1 ? 0 : 1;
        for (var i = first; i < rows.Length; i++)
        {
            var (before, costBefore) = i == 0 ? (0L, 0m) : (rows[i - 1], costs[i - 1]);
            if (rows[i] == before) continue; // no rollup row that day: no entry, as the daily rows give none
            var day = (currency, month.AddDays(s - 1 + i - first));
            if (!split.TryGetValue(day, out var byGroup)) split[day] = byGroup = [];
            byGroup[key] = Money.Normalize(byGroup.GetValueOrDefault(key) + costs[i] - costBefore);
        }
    }
}
