// Costs API under concurrent load on loopback, beside one plain SQL query over usage_stats and today's live rows.
// Today is live: raw events of today so far, rolled up by the aggregator every Live__RefreshInterval while a
// trickle of new events keeps arriving, so every refresh rewrites today's rows during the measurement.
// Usage: dotnet run -c Release --project bench/analytics -- [--days 90] [--workers 8] [--seconds 10]
// Uses ConnectionStrings__Postgres when set, else a private PostgreSQL from the machine's binaries.
using System.Net.Http.Json;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Live;
using AgentMeter.Bench.Analytics;
using AgentMeter.Entities.Domain;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

var days = Option("--days", 90);
var workers = Option("--workers", 8);
var seconds = Option("--seconds", 10);

PostgresLauncher? launcher = null;
var server = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
if (string.IsNullOrEmpty(server))
{
    launcher = await PostgresLauncher.StartAsync(Path.Combine(Path.GetTempPath(), $"agentmeter-bench-{Environment.ProcessId}"));
    server = launcher.ConnectionString;
}
var cs = launcher is not null
    ? await launcher.EnsureDatabaseAsync($"bench_analytics_{Environment.ProcessId}")
    : server;
await using var db = NpgsqlDataSource.Create(cs);
await new Migrator(db, NullLogger<Migrator>.Instance).MigrateAsync();
await using (var clear = db.CreateCommand("TRUNCATE usage_stats, usage_stats_by_dimension")) await clear.ExecuteNonQueryAsync();

var today = DateOnly.FromDateTime(DateTime.UtcNow);
var started = DateTime.UtcNow;
var rows = await UsageStatsGenerator.WriteAsync(db, today.AddDays(-days), days);
Console.WriteLine($"usage_stats: {rows:N0} rows over {days} days written in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
// What the daily aggregation adds per day (IDailyRollup): the per-dimension rollup of the day's rows.
started = DateTime.UtcNow;
await using (var rollup = db.CreateCommand(
    "SELECT agentmeter_rollup_dimensions(d::date, 0) FROM generate_series(@from::date, @to::date, '1 day') d"))
{
    rollup.CommandTimeout = 0;
    rollup.Parameters.AddWithValue("from", today.AddDays(-days));
    rollup.Parameters.AddWithValue("to", today.AddDays(-1));
    await rollup.ExecuteNonQueryAsync();
}
var rollupSeconds = (DateTime.UtcNow - started).TotalSeconds;
// What autovacuum does after each aggregated day (migrations 0100 and 0101 set the tables' thresholds).
foreach (var table in new[] { "usage_stats_by_dimension", "usage_stats_cost_running" })
{
    await using var vacuum = db.CreateCommand($"VACUUM ANALYZE {table}");
    vacuum.CommandTimeout = 0;
    await vacuum.ExecuteNonQueryAsync();
}
Console.WriteLine($"usage_stats_by_dimension: {days} days rolled up in {rollupSeconds:F1} s ({1000 * rollupSeconds / days:F0} ms per day of {rows / days:N0} rows)");

// Today so far, as raw events; the aggregator prices them with these rates.
var rates = Path.Combine(Path.GetTempPath(), $"agentmeter-bench-rates-{Environment.ProcessId}.yaml");
await File.WriteAllTextAsync(rates, UsageStatsGenerator.CostRatesYaml(today.AddDays(-days - 1)));
await new DayPartitions(db, TimeProvider.System, NullLogger<DayPartitions>.Instance).EnsureAsync([today], default);
started = DateTime.UtcNow;
var todayEvents = await UsageStatsGenerator.WriteTodayEventsAsync(db, DateTimeOffset.UtcNow);
Console.WriteLine($"usage_events: {todayEvents:N0} tool calls of today written in {(DateTime.UtcNow - started).TotalSeconds:F1} s");

var app = AggregatorApp.Build(CommandLine.Parse(["serve", "--urls", "http://127.0.0.1:0", "--resources", rates]), b =>
{
    b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = cs;
    b.Configuration["Otlp:GrpcPort"] = "0"; // not measured here
    b.Logging.SetMinimumLevel(LogLevel.Warning);
});
await app.Services.MigrateAsync();
await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers * 2 }) { BaseAddress = new Uri(address) };

// The first live refresh of today, then what one refresh costs when events keep arriving (median of three).
await using (var wait = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM live_days WHERE date = $1)"))
{
    wait.Parameters.Add(new() { Value = today });
    var deadline = DateTime.UtcNow.AddMinutes(5);
    while (!(bool)(await wait.ExecuteScalarAsync())!)
    {
        if (DateTime.UtcNow > deadline) throw new TimeoutException("today's live rollup did not appear within 5 minutes");
        await Task.Delay(200);
    }
}
var live = app.Services.GetRequiredService<LiveRollup>();
var refreshes = new List<double>();
for (var attempt = 0; refreshes.Count < 3 && attempt < 30; attempt++)
{
    await UsageStatsGenerator.WriteTodayEventsAsync(db, DateTimeOffset.UtcNow, scale: 0.02);
    // Skipped while the background refresh holds the lock: that one took these events, try again with new ones.
    var t = DateTime.UtcNow;
    if ((await live.RefreshAsync(default)).Contains(today)) refreshes.Add((DateTime.UtcNow - t).TotalMilliseconds);
    else await Task.Delay(500);
}
if (refreshes.Count == 0) throw new InvalidOperationException("no live refresh of today succeeded in 30 attempts (see the log)");
Console.WriteLine($"live rollup of today ({todayEvents:N0} tool calls): {refreshes.Order().ElementAt(refreshes.Count / 2):F0} ms per refresh (median of {refreshes.Count})");
// New events keep arriving while the load runs: each refresh rewrites today's live rows.
using var trickleStop = new CancellationTokenSource();
var trickle = Task.Run(async () =>
{
    while (!trickleStop.IsCancellationRequested)
    {
        await UsageStatsGenerator.WriteTodayEventsAsync(db, DateTimeOffset.UtcNow, scale: 0.02);
        try { await Task.Delay(1000, trickleStop.Token); } catch (OperationCanceledException) { }
    }
});

// Same range as period=30d: the 30 days ending today.
var (from, to) = (today.AddDays(-29), today);
var results = new List<LoadResult>();
foreach (var groupBy in new[] { "agent", "tenant" })
{
    var column = Dimension.Find(groupBy)!.Column;
    var baselineSql =
        $"""
        SELECT currency, {column}, sum(estimated_cost), sum(call_count), sum(estimated_input_tokens), sum(estimated_output_tokens)
        FROM usage_stats_current WHERE date BETWEEN $1 AND $2 AND estimated_cost IS NOT NULL
        GROUP BY currency, {column}
        """;
    async Task<Dictionary<(string, string), decimal>> Baseline()
    {
        await using var cmd = db.CreateCommand(baselineSql);
        cmd.Parameters.Add(new() { Value = from });
        cmd.Parameters.Add(new() { Value = to });
        var answer = new Dictionary<(string, string), decimal>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) answer[(reader.GetString(0), reader.GetString(1))] = reader.GetDecimal(2);
        return answer;
    }

    // The API answers what the plain query answers (every group, every currency) — checked before timing.
    // Both read while no live refresh can run: the same data.
    var (api, expected) = await Unchanging(async () =>
        ((await http.GetFromJsonAsync<CostResponse>($"/api/v1/analytics/costs?period=30d&group_by={groupBy}&limit=1000"))!, await Baseline()));
    var got = api.Currencies.SelectMany(c => c.Groups.Select(g => (Key: (c.Currency, g.Key), g.Cost))).ToDictionary(x => x.Key, x => x.Cost);
    if (expected.Count != got.Count || expected.Any(e => !got.TryGetValue(e.Key, out var v) || v != e.Value))
        throw new InvalidOperationException($"group_by={groupBy}: the API's groups differ from the plain SQL answer");
    Console.WriteLine($"group_by={groupBy}: {got.Count} (currency, group) costs equal to the plain SQL answer");

    results.Add(await Load.RunAsync($"API costs?period=30d&group_by={groupBy}, computed (Cache-Control: no-cache)", workers,
        TimeSpan.FromSeconds(seconds), () => GetAsync($"/api/v1/analytics/costs?period=30d&group_by={groupBy}", fresh: true)));
    results.Add(await Load.RunAsync($"API costs?period=30d&group_by={groupBy}, answer reused until the next aggregation", workers,
        TimeSpan.FromSeconds(seconds), () => GetAsync($"/api/v1/analytics/costs?period=30d&group_by={groupBy}", fresh: false)));
    results.Add(await Load.RunAsync($"plain SQL over usage_stats and today's live rows, group by {column}", workers, TimeSpan.FromSeconds(seconds),
        async () => await Baseline()));
}
// The alternative to a live rollup: today's part computed from the raw events on every request.
results.Add(await Load.RunAsync("today's costs by agent from the raw events, per request (usage_events_estimated)", workers,
    TimeSpan.FromSeconds(seconds), async () =>
    {
        await using var cmd = db.CreateCommand(
            "SELECT currency, agent_id, sum(estimated_cost) FROM usage_events_estimated WHERE time >= $1 AND estimated_cost IS NOT NULL GROUP BY 1, 2");
        cmd.Parameters.Add(new() { Value = today.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) { }
    }));
// Not a target of the issue, measured alongside: the usage endpoint, with merged p95 per group.
results.Add(await Load.RunAsync("API usage?period=30d&group_by=agent, computed (Cache-Control: no-cache)", workers,
    TimeSpan.FromSeconds(seconds), () => GetAsync("/api/v1/analytics/usage?period=30d&group_by=agent", fresh: true)));

trickleStop.Cancel();
await trickle;

Console.WriteLine();
Console.WriteLine($"{workers} concurrent clients, {seconds} s each, {rows:N0} usage_stats rows ({days} days) + {todayEvents:N0} tool calls today (live), {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
Console.WriteLine("| what | requests | req/s | p50 ms | p99 ms |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
foreach (var r in results) Console.WriteLine(r);

await app.StopAsync();
await app.DisposeAsync();
if (launcher is not null) await launcher.DisposeAsync();
File.Delete(rates);

// Runs the reads while holding the live refresh lock, so no refresh changes the data between them.
async Task<T> Unchanging<T>(Func<Task<T>> read)
{
    await using var conn = await db.OpenConnectionAsync();
    await using (var lockCmd = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLocks.LiveRefresh})", conn)) await lockCmd.ExecuteNonQueryAsync();
    try { return await read(); }
    finally { await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLocks.LiveRefresh})", conn); await unlock.ExecuteNonQueryAsync(); }
}

async Task GetAsync(string path, bool fresh)
{
    using var request = new HttpRequestMessage(HttpMethod.Get, path);
    if (fresh) request.Headers.CacheControl = new() { NoCache = true };
    using var response = await http.SendAsync(request);
    response.EnsureSuccessStatusCode();
    await response.Content.ReadAsByteArrayAsync();
}

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
}
