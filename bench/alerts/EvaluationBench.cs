using System.Diagnostics;
using System.Text;
using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentMeter.Bench.Alerts;

/// <summary>
/// One evaluation cycle of 1,000 and of 10,000 UsageAlerts (all metric kinds, windows 1h/24h/7d, with and
/// without groupBy and filters, in 500 namespaces) over 7 aggregated days in usage_stats plus 1,000,000 raw
/// events today (the 24h and 7d windows hold all of them), beside the baseline: one hand-written SQL query
/// answering a single alert over the same data. Memory: the bench process's peak working set (it hosts
/// the evaluator as the aggregator does).
/// </summary>
public static class EvaluationBench
{
    private const int Agents = 40, Tools = 10, Tenants = 4, RawEvents = 1_000_000, Cycles = 5;
    private static readonly string[] Models = ["gpt-4o", "claude-sonnet", "llama-70b"];

    public static async Task RunAsync(string connectionString)
    {
        await using var db = NpgsqlDataSource.Create(connectionString);
        await new Migrator(db, NullLogger<Migrator>.Instance).MigrateAsync();
        var now = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero);
        var statsRows = await SeedAsync(db, now);
        foreach (var alerts in new[] { 1000, 10_000 })
        {
            await using (var conn = await db.OpenConnectionAsync())
                await conn.ExecuteAsync("TRUNCATE alert_states, alert_evaluations, webhook_outbox");
            await RunAsync(db, now, statsRows, alerts);
        }
    }

    private static async Task RunAsync(NpgsqlDataSource db, DateTimeOffset now, long statsRows, int alerts)
    {

        var dir = Directory.CreateTempSubdirectory("agentmeter-bench-alerts-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "alerts.yaml"), AlertsYaml(alerts));
        var store = new ResourceStore(new ResourceOptions { Paths = [dir] }, NullLogger<ResourceStore>.Instance, TimeProvider.System);
        store.Reload();
        if (store.Current.UsageAlerts.Count != alerts) throw new InvalidOperationException($"loaded {store.Current.UsageAlerts.Count} alerts: {string.Join("; ", store.Current.Problems)}");
        var clock = new FixedClock(now);
        var phases = new CycleLog();
        var evaluator = new AlertEvaluator(db, store, new AlertWindowQueries(db), new AlertStateStore(db), clock, phases);

        var first = Stopwatch.StartNew();
        await evaluator.EvaluateAllAsync(CancellationToken.None);
        first.Stop();
        Console.WriteLine($"after the first cycle: working set {Environment.WorkingSet / 1048576} MB, managed heap {GC.GetGCMemoryInfo().HeapSizeBytes / 1048576} MB, committed {GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576} MB, live {GC.GetTotalMemory(false) / 1048576} MB");
        var cycles = new List<double>();
        for (var i = 0; i < Cycles; i++)
        {
            clock.Now = clock.Now.AddMinutes(1);
            // Live traffic: a minute's new events arrive between two cycles.
            await using (var conn = await db.OpenConnectionAsync())
                await conn.ExecuteAsync(
                    """
                    INSERT INTO usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, model, status, latency_ms, request_bytes, response_bytes)
                    SELECT @from + i * interval '60 ms', 'tool_call', 'agent-' || (i % @agents), 'tool-' || (i % @tools), 'server-' || (i % 4),
                           'user-' || (i % 10), 'tenant-' || (i % @agents % 4), (@models)[1 + i % 3],
                           CASE WHEN i % 20 = 0 THEN 'failure' ELSE 'success' END, 20 + (i % 500), 2000, 8000
                    FROM generate_series(1, 1000) i
                    """, new { from = clock.Now.AddMinutes(-1).UtcDateTime, agents = Agents, tools = Tools, models = Models });
            var sw = Stopwatch.StartNew();
            await evaluator.EvaluateAllAsync(CancellationToken.None);
            cycles.Add(sw.Elapsed.TotalMilliseconds);
            Console.WriteLine($"steady cycle {i + 1}: {sw.Elapsed.TotalMilliseconds:F0} ms; {phases.Last}; working set {Environment.WorkingSet / 1048576} MB, managed heap {GC.GetGCMemoryInfo().HeapSizeBytes / 1048576} MB");
        }

        // Where a cycle goes: loading the three windows' data.
        var queries = new AlertWindowQueries(db);
        var loads = new List<string>();
        foreach (var window in new[] { TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(7) })
        {
            var sw = Stopwatch.StartNew();
            var data = await queries.LoadAsync(clock.Now - window, clock.Now, new AlertWindowQueries.CycleCache(), CancellationToken.None);
            loads.Add($"{window.TotalHours:0}h: {sw.Elapsed.TotalMilliseconds:F0} ms ({data.Usage.Count} rows)");
        }

        // Baseline: one alert (callCount per agent over 24h) answered by one hand-written query.
        var baseline = new List<double>();
        await using (var conn = await db.OpenConnectionAsync())
            for (var i = 0; i < Cycles; i++)
            {
                var sw = Stopwatch.StartNew();
                await conn.QueryAsync(
                    """
                    SELECT agent_id, sum(c) FROM (
                        SELECT agent_id, call_count AS c FROM usage_stats WHERE date > (@now::timestamptz - interval '24 hours')::date AND date < @now::date
                        UNION ALL
                        SELECT agent_id, 1 FROM usage_events_estimated WHERE time >= @now::timestamptz - interval '24 hours' AND time <= @now::timestamptz
                    ) x GROUP BY agent_id
                    """, new { now });
                baseline.Add(sw.Elapsed.TotalMilliseconds);
            }

        int firing;
        await using (var conn = await db.OpenConnectionAsync())
            firing = await conn.ExecuteScalarAsync<int>("SELECT count(*) FROM alert_states WHERE state = 'Firing'");
        Console.WriteLine();
        Console.WriteLine($"## Alert evaluation: {alerts:N0} alerts, {statsRows:N0} usage_stats rows (7 days), {RawEvents:N0} raw events today");
        Console.WriteLine($"| measure | ms |");
        Console.WriteLine($"| --- | ---: |");
        Console.WriteLine($"| first cycle (creates every group state) | {first.Elapsed.TotalMilliseconds:F0} |");
        Console.WriteLine($"| steady cycle, median of {Cycles} | {Median(cycles):F0} |");
        Console.WriteLine($"| steady cycle, per alert | {Median(cycles) / alerts:F2} |");
        Console.WriteLine($"| baseline: one hand-written query for one alert (callCount by agent, 24h), median | {Median(baseline):F0} |");
        Console.WriteLine($"| steady cycle ÷ baseline | {Median(cycles) / Median(baseline):F2} |");
        Console.WriteLine($"peak working set of the bench process: {Environment.WorkingSet / 1048576} MB now, {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MB peak");
        Console.WriteLine($"window data loads: {string.Join(", ", loads)}");
        Console.WriteLine($"groups firing after the run: {firing}");
        Directory.Delete(dir, recursive: true);
    }

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    private static async Task<long> SeedAsync(NpgsqlDataSource db, DateTimeOffset now)
    {
        await using var conn = await db.OpenConnectionAsync();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        await conn.ExecuteAsync(
            """
            INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from)
            VALUES ('gpt-4o', 'gpt-4o', 'USD', 2.5, 10, '2020-01-01'), ('claude-sonnet', 'claude-sonnet', 'USD', 3, 15, '2020-01-01'),
                   ('llama-70b', 'llama-70b', 'USD', 0.6, 0.6, '2020-01-01');
            """);
        // 7 aggregated days: one usage_stats row per agent × tool × model.
        for (var d = 7; d >= 1; d--)
        {
            var date = today.AddDays(-d).ToDateTime(TimeOnly.MinValue);
            await conn.ExecuteAsync(
                """
                INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count, failure_count,
                                         total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens, estimated_output_tokens,
                                         estimated_cost, currency)
                SELECT @date, 'agent-' || a, 'tool-' || t, 'server-' || (t % 4), 'user-' || (a % 10), 'tenant-' || (a % 4), m,
                       100, 95, 5, 10000, 100, 250, ARRAY[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,20,30,30,15,5], 50000, 20000, 0.33, 'USD'
                FROM generate_series(0, @agents - 1) a, generate_series(0, @tools - 1) t, unnest(@models) m;
                INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES (@date, 0, 0);
                """, new { date, agents = Agents, tools = Tools, models = Models });
        }
        await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition(@d::date)", new { d = today.ToDateTime(TimeOnly.MinValue) });
        await conn.ExecuteAsync(
            """
            INSERT INTO usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, model, status, latency_ms, request_bytes, response_bytes)
            SELECT @start + (i * interval '1 second' * 43200 / @n), 'tool_call', 'agent-' || (i % @agents), 'tool-' || (i % @tools),
                   'server-' || (i % 4), 'user-' || (i % 10), 'tenant-' || (i % @agents % 4), (@models)[1 + i % 3],
                   CASE WHEN i % 20 = 0 THEN 'failure' ELSE 'success' END, 20 + (i % 500), 2000, 8000
            FROM generate_series(0, @n - 1) i;
            INSERT INTO server_health_events (time, server_label, state) VALUES (@start, 'server-1', 'open');
            """, new { start = now.AddHours(-12).UtcDateTime, n = RawEvents, agents = Agents, tools = Tools, models = Models });
        // As autovacuum leaves a day filled over hours: statistics, and the BRIN ranges summarized (autosummarize does it as
        // each range fills, a minute or so later; a bulk load outruns it).
        await conn.ExecuteAsync("VACUUM ANALYZE");
        return await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_stats");
    }

    private static string AlertsYaml(int alerts)
    {
        string[] metrics = ["tokens", "cost", "callCount", "errorRate", "p95LatencyMs", "circuitBreakerOpen", "webhookFailureRate"];
        string[] windows = ["1h", "24h", "7d"];
        var sb = new StringBuilder();
        for (var i = 0; i < alerts; i++)
        {
            var metric = metrics[i % metrics.Length];
            var (groupBy, filter) = metric switch
            {
                "circuitBreakerOpen" => (i % 2 == 0 ? "server" : null, (string?)null),
                "webhookFailureRate" => (null, $"tenantId: tenant-{i % Tenants}"),
                "cost" => (i % 2 == 0 ? "agent" : null, $"model: {Models[i % 3]}"),
                _ => ((i % 3) switch { 0 => "agent", 1 => "tool", _ => null }, i % 4 == 0 ? $"tenantId: tenant-{i % Tenants}" : null),
            };
            var threshold = metric switch
            {
                "errorRate" or "webhookFailureRate" => "0.04", "p95LatencyMs" => "300", "circuitBreakerOpen" => "0", _ => (1000 + i * 37).ToString(),
            };
            sb.Append($"""
                apiVersion: agentmeter.io/v1alpha1
                kind: UsageAlert
                metadata: {"{"}name: alert-{i:D5}, namespace: team-{i % 500}{"}"}
                spec:
                  metric: {metric}
                  threshold: "{threshold}"
                  window: {windows[i % windows.Length]}
                  cooldown: 1h
                {(groupBy is null ? "" : $"  groupBy: {groupBy}\n")}{(filter is null ? "" : $"  filter: {{{filter}}}\n")}  webhooks: [{"{"}name: oncall, url: "https://hooks.example.com/{i}"{"}"}]
                ---

                """);
        }
        return sb.ToString();
    }

    /// <summary>Keeps the evaluator's Debug line on where a cycle's time went; drops the rest.</summary>
    private sealed class CycleLog : ILogger<AlertEvaluator>
    {
        public string Last { get; private set; } = "";
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Debug) Last = formatter(state, exception);
        }
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
