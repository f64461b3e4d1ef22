using System.Runtime.InteropServices;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Entities.Domain;
using Npgsql;

namespace AgentMeter.Aggregator.Costs;

public sealed record CostGroup(string Key, decimal Cost, double? Share, long Calls, long InputTokens, long OutputTokens);

public sealed record CostPoint(DateOnly Date, string Granularity, decimal Cost, IReadOnlyDictionary<string, decimal> ByGroup);

/// <summary>Everything priced in one currency. Amounts of different currencies are never added up.</summary>
public sealed record CurrencyCosts(string Currency, decimal Total, int GroupCount, IReadOnlyList<CostGroup> Groups, IReadOnlyList<CostPoint> Series);

public sealed record UnpricedModel(string Model, long Calls, long InputTokens, long OutputTokens);

public sealed record Unpriced(long Calls, long InputTokens, long OutputTokens, IReadOnlyList<UnpricedModel> Models);

/// <summary>Each day's cost of the listed groups, per (currency, day): the byGroup of the series, keys in ordinal order.</summary>
public sealed class CostsByDay
{
    private static readonly IReadOnlyDictionary<string, decimal> None = new Dictionary<string, decimal>();
    private readonly Dictionary<(string, DateOnly), Dictionary<string, decimal>> _days = [];

    /// <summary>Adds to the group's cost of the day (a key spread over tenants comes in parts).</summary>
    public void Add(string currency, DateOnly day, string key, decimal cost)
    {
        if (!_days.TryGetValue((currency, day), out var byGroup))
            _days[(currency, day)] = byGroup = [];
        ref var sum = ref CollectionsMarshal.GetValueRefOrAddDefault(byGroup, key, out _);
        sum += cost;
    }

    /// <summary>
    /// The day's costs in key order, normalised once here rather than on every addition: the
    /// per-cell work of a 500-group month (thousands of cells) was a visible share of a request.
    /// </summary>
    public IReadOnlyDictionary<string, decimal> Of(string currency, DateOnly day)
    {
        if (!_days.TryGetValue((currency, day), out var byGroup)) return None;
        var keys = byGroup.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        return new SortedCosts(keys, Array.ConvertAll(keys, k => Money.Normalize(byGroup[k])));
    }

    /// <summary>Costs by key, enumerated in key order (how the JSON object lists them), on two arrays.</summary>
    private sealed class SortedCosts(string[] keys, decimal[] costs) : IReadOnlyDictionary<string, decimal>
    {
        public decimal this[string key] => TryGetValue(key, out var cost) ? cost : throw new KeyNotFoundException(key);
        public IEnumerable<string> Keys => keys;
        public IEnumerable<decimal> Values => costs;
        public int Count => keys.Length;
        public bool ContainsKey(string key) => Array.BinarySearch(keys, key, StringComparer.Ordinal) >= 0;

        public bool TryGetValue(string key, out decimal value)
        {
            var i = Array.BinarySearch(keys, key, StringComparer.Ordinal);
            value = i >= 0 ? costs[i] : 0;
            return i >= 0;
        }

        public IEnumerator<KeyValuePair<string, decimal>> GetEnumerator()
        {
            for (var i = 0; i < keys.Length; i++) yield return new(keys[i], costs[i]);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

public sealed record CostResponse(
    DateOnly From, DateOnly To, string GroupBy, IReadOnlyList<GranularityPart> Granularity,
    IReadOnlyList<CurrencyCosts> Currencies, Unpriced Unpriced);

/// <summary>
/// <c>GET /api/v1/analytics/costs</c>: the costs stored with each aggregated day (priced at the rate
/// in force that day), per currency, per group and per day, plus the usage no rate priced. Each
/// day's total and the unpriced usage come from the per-dimension daily rollup; the groups and
/// their per-day costs from the monthly running totals (<see cref="CostRunningTotals"/>) while the
/// whole range is still daily, else from the daily rollup and retention's monthly rows.
/// </summary>
public sealed class CostQuery(NpgsqlDataSource db)
{
    public async Task<CostResponse> RunAsync(AnalyticsRequest r, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var layout = await Granularity.LayoutAsync(conn, r.From, r.To, ct);
        var running = layout.RolledUpMonths.Count == 0;
        // d: each day's total, from the tenant dimension (the same sums in a tenth of the rows of
        // agents or users); u: unpriced usage per model. Then the top groups: from the running
        // totals with their costs per day, else alone (their costs per day follow in SplitAsync).
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT 'd', currency, period_start, granularity, sum(estimated_cost), NULL::bigint, NULL::bigint, NULL::bigint
            FROM ({DimensionSource.Sql(r, Dimension.Tenant, layout, "t")}) totals WHERE currency <> '' GROUP BY 2, 3, 4
            UNION ALL
            SELECT 'u', key, NULL, NULL, NULL, sum(call_count)::bigint, agentmeter_bigint_sum(sum(estimated_input_tokens)), agentmeter_bigint_sum(sum(estimated_output_tokens))
            FROM ({DimensionSource.Sql(r, Dimension.Model, layout, "u")}) unpriced WHERE currency = '' GROUP BY key;
            {(running ? CostRunningTotals.Sql(r) : DailyGroupsSql(r, layout))}
            """, conn);
        DimensionSource.Bind(cmd, r, Dimension.Tenant, layout, "t");
        DimensionSource.Bind(cmd, r, Dimension.Model, layout, "u");
        if (running) CostRunningTotals.Bind(cmd, r, layout);
        else DimensionSource.Bind(cmd, r, r.GroupBy, layout, "g");
        cmd.Parameters.AddWithValue("limit", (long)r.Limit);

        var days = new List<(string Currency, DateOnly Date, string Granularity, decimal Cost)>();
        var unpriced = new List<UnpricedModel>();
        var groups = new List<(string Currency, CostGroup Group, long Count)>();
        var split = new CostsByDay();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                if (reader.GetString(0) == "d")
                    days.Add((reader.GetString(1), reader.GetFieldValue<DateOnly>(2), reader.GetString(3), Money.Normalize(reader.GetDecimal(4))));
                else
                    unpriced.Add(new UnpricedModel(reader.GetString(1), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7)));
            }
            await reader.NextResultAsync(ct);
            if (running)
                await CostRunningTotals.ReadAsync(reader, groups, split, ct);
            else
                while (await reader.ReadAsync(ct))
                    groups.Add((reader.GetString(0), new CostGroup(reader.GetString(1), Money.Normalize(reader.GetDecimal(2)), null,
                        reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)), reader.GetInt64(6)));
        }
        if (!running)
            split = await SplitAsync(conn, r, layout, groups.Select(g => (g.Currency, g.Group.Key)).ToHashSet(), ct);

        var currencies = days.GroupBy(d => d.Currency).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
        {
            var total = c.Sum(d => d.Cost);
            var mine = groups.Where(g => g.Currency == c.Key).ToList();
            return new CurrencyCosts(c.Key, Money.Normalize(total), mine.Select(g => (int)g.Count).FirstOrDefault(),
                mine.Select(g => g.Group with { Share = total == 0 ? null : (double)(g.Group.Cost / total) })
                    .OrderByDescending(g => g.Cost).ThenBy(g => g.Key, StringComparer.Ordinal).ToList(),
                c.OrderBy(d => d.Date).Select(d => new CostPoint(d.Date, d.Granularity, d.Cost,
                    split.Of(c.Key, d.Date))).ToList());
        }).ToList();
        var models = unpriced.OrderByDescending(m => m.Calls).ThenBy(m => m.Model, StringComparer.Ordinal).ToList();
        return new CostResponse(r.From, r.To, r.GroupBy.Name, layout.Parts, currencies,
            new Unpriced(models.Sum(m => m.Calls), models.Sum(m => m.InputTokens), models.Sum(m => m.OutputTokens), models));
    }

    /// <summary>The top groups per currency (with the number of groups) over daily and monthly rows.</summary>
    private static string DailyGroupsSql(AnalyticsRequest r, DataLayout layout) =>
        $"""
        SELECT currency, key, cost, calls::bigint, agentmeter_bigint_sum(tin), agentmeter_bigint_sum(tout), n FROM (
            SELECT currency, key, sum(estimated_cost) AS cost, sum(call_count) AS calls,
                   sum(estimated_input_tokens) AS tin, sum(estimated_output_tokens) AS tout,
                   row_number() OVER (PARTITION BY currency ORDER BY sum(estimated_cost) DESC, key COLLATE "C") AS rank,
                   count(*) OVER (PARTITION BY currency) AS n
            FROM ({DimensionSource.Sql(r, r.GroupBy, layout, "g")}) src WHERE currency <> '' GROUP BY 1, 2) groups
        WHERE rank <= @limit
        """;

    /// <summary>
    /// Each day's cost of the listed groups, per (currency, day), over daily and monthly rows: the
    /// byGroup of the series. A filter on the index-only scan, not a sort of every (day, group) cell.
    /// </summary>
    private static async Task<CostsByDay> SplitAsync(
        NpgsqlConnection conn, AnalyticsRequest r, DataLayout layout, HashSet<(string Currency, string Key)> listed, CancellationToken ct)
    {
        var split = new CostsByDay();
        if (listed.Count == 0) return split;
        await using var cmd = new NpgsqlCommand(
            $"""
            SELECT currency, period_start, key, sum(estimated_cost)
            FROM ({DimensionSource.Sql(r, r.GroupBy, layout, "g")}) src WHERE currency <> '' AND key = ANY(@keys) GROUP BY 1, 2, 3
            """, conn);
        DimensionSource.Bind(cmd, r, r.GroupBy, layout, "g");
        cmd.Parameters.AddWithValue("keys", listed.Select(l => l.Key).Distinct().ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var (currency, key) = (reader.GetString(0), reader.GetString(2));
            // A key listed in one currency may have spend in another where it is not listed.
            if (!listed.Contains((currency, key))) continue;
            split.Add(currency, reader.GetFieldValue<DateOnly>(1), key, reader.GetDecimal(3));
        }
        return split;
    }
}
