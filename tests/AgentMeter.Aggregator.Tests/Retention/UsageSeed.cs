using System.Globalization;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Retention;

/// <summary>
/// Writes usage_stats rows the way daily aggregation does (counts, exact p95, histogram by the same
/// SQL functions, tokens, cost) from latency samples that stay in <c>test_samples</c>, so a test can compute exact
/// monthly figures to compare the rollup with. Dimensions derive from a group number g: six
/// dimensions that all differ, model-0 priced in USD, model-1 in EUR until
/// <see cref="CurrencySwitch"/> then USD, model-2 unpriced.
/// </summary>
public static class UsageSeed
{
    public static readonly DateOnly CurrencySwitch = new(2026, 6, 15);

    public static readonly string[] Dimensions = ["agent_id", "tenant_id", "user_id", "mcp_server_label", "tool_name", "model"];

    public static async Task SeedAsync(NpgsqlDataSource db, DateOnly from, DateOnly to, int groups = 40, int maxCallsPerDay = 20)
    {
        // One connection: setseed makes random() repeatable for the session.
        await using var conn = await db.OpenConnectionAsync();
        await ExecAsync(conn, "SELECT setseed(0.42)");
        await ExecAsync(conn, "CREATE TABLE test_samples (date date, g int, failed bool, ms double precision, in_tok bigint, out_tok bigint)");
        await ExecAsync(conn,
            """
            INSERT INTO test_samples
            SELECT d::date, g, random() < 0.08,
                   CASE WHEN random() < 0.05 THEN random() ELSE exp(random() * 8) END,
                   (random() * 2000)::bigint, (random() * 500)::bigint
            FROM generate_series($1::date, $2::date, interval '1 day') d
            CROSS JOIN generate_series(0, $3 - 1) g
            CROSS JOIN LATERAL generate_series(1, 1 + (g * 7 + extract(doy FROM d)::int * 13) % $4) s
            """, from, to, groups, maxCallsPerDay);
        await ExecAsync(conn,
            """
            INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
                call_count, success_count, failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram,
                estimated_input_tokens, estimated_output_tokens, estimated_cost, currency)
            SELECT s.date, 'agent-' || s.g % 4, 'tool-' || s.g % 5, 'server-' || s.g % 3, 'user-' || s.g % 7,
                   'tenant-' || s.g % 2, 'model-' || s.g % 3,
                   count(*), count(*) FILTER (WHERE NOT failed), count(*) FILTER (WHERE failed),
                   sum(ms), avg(ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY ms),
                   agentmeter_latency_histogram(array_agg(agentmeter_latency_bucket(ms))),
                   sum(in_tok), sum(out_tok),
                   CASE WHEN s.g % 3 = 2 THEN NULL ELSE round(sum(in_tok) * 0.0000025 + sum(out_tok) * 0.00001 + s.g * 0.0000000001, 10) END,
                   CASE s.g % 3 WHEN 0 THEN 'USD' WHEN 1 THEN CASE WHEN s.date < $1 THEN 'EUR' ELSE 'USD' END END
            FROM test_samples s
            GROUP BY s.date, s.g
            """, CurrencySwitch);
        await ExecAsync(conn,
            "INSERT INTO aggregated_days (date, event_count, stats_rows) SELECT date, count(*), count(DISTINCT g) FROM test_samples GROUP BY date");
    }

    public static async Task ExecAsync(NpgsqlConnection conn, string sql, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>One group's totals over the whole view: exact figures as text, latency apart (float sums).</summary>
    public sealed record GroupTotal(string Exact, double LatencyMs);

    /// <summary>Totals per group of <paramref name="dimension"/> and currency over daily and monthly rows.</summary>
    public static async Task<List<GroupTotal>> TotalsAsync(NpgsqlDataSource db, string dimension)
    {
        if (!Dimensions.Contains(dimension)) throw new ArgumentException(dimension);
        await using var cmd = db.CreateCommand(
            $"""
            SELECT {dimension}, coalesce(currency, '(unpriced)'), sum(call_count), sum(success_count), sum(failure_count),
                   sum(estimated_input_tokens), sum(estimated_output_tokens), sum(estimated_cost), sum(total_latency_ms)
            FROM usage_stats_all GROUP BY 1, 2 ORDER BY 1, 2
            """);
        var totals = new List<GroupTotal>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            var cost = r.IsDBNull(7) ? "null" : r.GetDecimal(7).ToString(CultureInfo.InvariantCulture);
            totals.Add(new GroupTotal(
                $"{r.GetString(0)} {r.GetString(1)} calls={r.GetDecimal(2)} ok={r.GetDecimal(3)} failed={r.GetDecimal(4)} " +
                $"in={r.GetDecimal(5)} out={r.GetDecimal(6)} cost={cost}",
                r.GetDouble(8)));
        }
        return totals;
    }

    public static async Task<Dictionary<string, List<GroupTotal>>> AllTotalsAsync(NpgsqlDataSource db)
    {
        var all = new Dictionary<string, List<GroupTotal>>();
        foreach (var d in Dimensions) all[d] = await TotalsAsync(db, d);
        return all;
    }

    public static void AssertSameTotals(Dictionary<string, List<GroupTotal>> before, Dictionary<string, List<GroupTotal>> after)
    {
        foreach (var d in Dimensions)
        {
            Assert.NotEmpty(before[d]);
            Assert.Equal(before[d].Select(t => t.Exact), after[d].Select(t => t.Exact));
            foreach (var (b, a) in before[d].Zip(after[d]))
                Assert.True(Math.Abs(b.LatencyMs - a.LatencyMs) <= 1e-9 * Math.Max(1, b.LatencyMs), $"{d} {b.Exact}: latency {b.LatencyMs} became {a.LatencyMs}");
        }
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql, params object[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
