using Npgsql;

namespace AgentMeter.Bench.Retention;

public static class Bench
{
    public const string PassName = "RetentionPass (one transaction per month, one per partition)";
    public const string BaselineName = "hand-written SQL (one transaction)";

    public sealed record Sizes(long Daily, long Monthly, long Events, long Partitions);
    public sealed record Result(string Name, TimeSpan Time, Sizes Before, Sizes After, Sizes Vacuumed, string Checksum);

    public static string Mb(long bytes) => $"{bytes / 1048576.0:F1} MB";

    public static async Task<string> CreateDatabaseAsync(string adminConnectionString, string name, string? template)
    {
        await using var conn = new NpgsqlConnection(adminConnectionString);
        await conn.OpenAsync();
        await Exec(conn, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await Exec(conn, $"CREATE DATABASE {name}" + (template is null ? "" : $" TEMPLATE {template}"));
        return new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name, CommandTimeout = 0 }.ConnectionString;
    }

    /// <summary>
    /// A year as daily aggregation leaves it: <paramref name="groups"/> usage_stats rows per day (six
    /// dimensions, histograms of ~30 buckets, costs in USD and EUR, one model unpriced), one raw event
    /// partition per day, every day marked aggregated.
    /// </summary>
    public static async Task GenerateAsync(NpgsqlDataSource db, DateOnly first, int days, int groups, int eventsPerDay)
    {
        await using var conn = await db.OpenConnectionAsync();
        await Exec(conn, "SELECT setseed(0.7)");
        await GenerateStatsAsync(conn, first, days, groups);
        await Exec(conn,
            $"""
            DO $$ BEGIN
                PERFORM agentmeter_ensure_event_partition(d::date)
                FROM generate_series('{first:yyyy-MM-dd}'::date, '{first.AddDays(days - 1):yyyy-MM-dd}'::date, interval '1 day') d;
            END $$
            """);
        await Exec(conn,
            $"""
            INSERT INTO usage_events (time, type, event_id, agent_id, tool_name, server_label, user_id, tenant_id, model, status,
                latency_ms, request_bytes, response_bytes)
            SELECT d + interval '1 millisecond' * (random() * 86399999), 'tool_call', md5(d::text || i), 'agent-' || i % 50,
                   'tool-' || i % 40, 'server-' || i % 12, 'user-' || i % 500, 'tenant-' || i % 8, 'model-' || i % 6,
                   CASE WHEN random() < 0.05 THEN 'failure' ELSE 'success' END, exp(random() * 8), 4000 + i % 3000, 1000 + i % 5000
            FROM generate_series('{first:yyyy-MM-dd}'::date, '{first.AddDays(days - 1):yyyy-MM-dd}'::date, interval '1 day') d
            CROSS JOIN generate_series(1, {eventsPerDay}) i
            """);
        await Exec(conn, "INSERT INTO aggregated_days (date, event_count, stats_rows) SELECT date, 0, count(*) FROM usage_stats GROUP BY date");
        // The per-day tables the daily aggregation writes alongside (IDailyRollup), which the pass prunes too.
        await Exec(conn, "SELECT agentmeter_rollup_dimensions(date, 0), agentmeter_rollup_hourly(date, 0, 'usage_events') FROM aggregated_days");
        await Exec(conn, "VACUUM ANALYZE");
    }

    /// <summary>Size of usage_stats after the days that follow are added: the space the pass freed is reused, not grown.</summary>
    public static async Task<long> SizeAfterMoreDaysAsync(NpgsqlDataSource db, DateOnly first, int days, int groups)
    {
        await using (var conn = await db.OpenConnectionAsync())
            await GenerateStatsAsync(conn, first, days, groups);
        return (await SizesAsync(db)).Daily;
    }

    /// <summary>Size of usage_stats rewritten without free space (VACUUM FULL takes an exclusive lock: an operator's one-off).</summary>
    public static async Task<long> SizeAfterVacuumFullAsync(NpgsqlDataSource db)
    {
        await using (var vacuum = db.CreateCommand("VACUUM FULL usage_stats"))
            await vacuum.ExecuteNonQueryAsync();
        return (await SizesAsync(db)).Daily;
    }

    private static async Task GenerateStatsAsync(NpgsqlConnection conn, DateOnly first, int days, int groups)
    {
        await Exec(conn,
            $"""
            INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
                call_count, success_count, failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram,
                estimated_input_tokens, estimated_output_tokens, estimated_cost, currency)
            SELECT d, 'agent-' || g % 50, 'tool-' || g % 40, 'server-' || g % 12, 'user-' || g, 'tenant-' || g % 8, 'model-' || g % 6,
                   h.calls, h.calls - h.calls / 20, h.calls / 20, h.calls * 180.5, 180.5, 900, h.hist,
                   h.calls * 1200, h.calls * 300,
                   CASE WHEN g % 6 = 5 THEN NULL ELSE round(h.calls * 0.0066, 10) END,
                   CASE g % 6 WHEN 5 THEN NULL WHEN 4 THEN 'EUR' ELSE 'USD' END
            FROM generate_series('{first:yyyy-MM-dd}'::date, '{first.AddDays(days - 1):yyyy-MM-dd}'::date, interval '1 day') d
            CROSS JOIN generate_series(0, {groups - 1}) g
            CROSS JOIN LATERAL (
                SELECT array_agg(c ORDER BY i) AS hist, sum(c)::bigint AS calls
                FROM (SELECT i, ((g * 31 + i * 7 + extract(doy FROM d)::int) % 9) AS c FROM generate_series(1, 25 + g % 10) i) b
            ) h
            """);
    }

    /// <summary>Sizes before, the timed work, sizes after (and after VACUUM), and the checksum of what is left.</summary>
    public static async Task<Result> MeasureAsync(NpgsqlDataSource db, string name, Func<Task> work)
    {
        var before = await SizesAsync(db);
        await CheckpointAsync(db);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await work();
        sw.Stop();
        return new Result(name, sw.Elapsed, before, await SizesAsync(db), await VacuumedSizesAsync(db), await ChecksumAsync(db));
    }

    /// <summary>Flushes dirty pages first, so neither run pays for the other's (or the generator's) writes.</summary>
    public static async Task CheckpointAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("CHECKPOINT");
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task<Sizes> SizesAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT pg_total_relation_size('usage_stats'), pg_total_relation_size('usage_stats_monthly'),
                   (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('usage_events')),
                   (SELECT count(*) FROM pg_partition_tree('usage_events') WHERE isleaf)
            """);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return new Sizes(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3));
    }

    /// <summary>Sizes after a plain VACUUM: deleted daily rows become reusable space; the file shrinks only at its end.</summary>
    public static async Task<Sizes> VacuumedSizesAsync(NpgsqlDataSource db)
    {
        await using (var vacuum = db.CreateCommand("VACUUM usage_stats, usage_stats_monthly"))
            await vacuum.ExecuteNonQueryAsync();
        return await SizesAsync(db);
    }

    /// <summary>What both runs must leave identical: totals per currency, monthly rows and their p95, daily rows, partitions.</summary>
    public static async Task<string> ChecksumAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT string_agg(format('%s: calls=%s failed=%s in=%s out=%s cost=%s', coalesce(currency, 'unpriced'), c, f, i, o, coalesce(cost::text, '-')), '; ' ORDER BY currency)
                || format(' | daily rows=%s monthly rows=%s sum(monthly p95)=%s | partitions=%s | per-dimension rows=%s hourly rows=%s',
                    (SELECT count(*) FROM usage_stats), (SELECT count(*) FROM usage_stats_monthly),
                    (SELECT round(sum(p95_latency_ms)::numeric, 3) FROM usage_stats_monthly),
                    (SELECT count(*) FROM pg_partition_tree('usage_events') WHERE isleaf),
                    (SELECT count(*) FROM usage_stats_by_dimension), (SELECT count(*) FROM usage_stats_hourly))
            FROM (SELECT currency, sum(call_count) c, sum(failure_count) f, sum(estimated_input_tokens) i, sum(estimated_output_tokens) o, sum(estimated_cost) cost
                  FROM usage_stats_all GROUP BY currency) t
            """);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>The same rollup as one hand-written transaction: INSERT … SELECT … GROUP BY month, DELETEs (daily, per-dimension, hourly rows), DROP TABLE.</summary>
    public static async Task BaselineAsync(NpgsqlDataSource db, DateOnly keepFrom)
    {
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await Exec(conn,
            $"""
            INSERT INTO usage_stats_monthly (month, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, currency,
                days_rolled_up, call_count, success_count, failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms,
                latency_histogram, estimated_input_tokens, estimated_output_tokens, estimated_cost)
            SELECT date_trunc('month', date)::date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model,
                   CASE WHEN estimated_cost IS NULL THEN '' ELSE currency END,
                   count(*), sum(call_count), sum(success_count), sum(failure_count), sum(total_latency_ms),
                   sum(total_latency_ms) / sum(call_count),
                   agentmeter_histogram_quantile(agentmeter_histogram_merge(latency_histogram), 0.95),
                   agentmeter_histogram_merge(latency_histogram)::int[],
                   sum(estimated_input_tokens), sum(estimated_output_tokens), sum(estimated_cost)
            FROM usage_stats WHERE date < '{keepFrom:yyyy-MM-dd}'
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
            """, tx);
        await Exec(conn, $"DELETE FROM usage_stats WHERE date < '{keepFrom:yyyy-MM-dd}'", tx);
        await Exec(conn, $"DELETE FROM usage_stats_by_dimension WHERE date < '{keepFrom:yyyy-MM-dd}'", tx);
        await Exec(conn, $"DELETE FROM usage_stats_hourly WHERE date < '{keepFrom:yyyy-MM-dd}'", tx);
        await Exec(conn,
            $"""
            DO $$ DECLARE p record; BEGIN
                FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                         JOIN aggregated_days a ON c.relname = agentmeter_event_partition_name(a.date)
                         WHERE i.inhparent = 'usage_events'::regclass AND a.date < '{keepFrom:yyyy-MM-dd}' LOOP
                    EXECUTE format('DROP TABLE %I', p.relname);
                END LOOP;
            END $$
            """, tx);
        await tx.CommitAsync();
    }

    private static async Task Exec(NpgsqlConnection conn, string sql, NpgsqlTransaction? tx = null)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync();
    }
}
