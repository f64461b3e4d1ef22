using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using AgentMeter.Aggregator.Database;
using AgentMeter.Bench;
using Dapper;
using Grpc.Net.Client;
using Npgsql;

// Usage: AgentMeter.Bench [--ingest-events N] [--aggregate-events N] [--clients 1,4] [--runs 3] [--work-mem 256MB] [--aggregator PATH]
//        [--curl-events N (bench/curl/run.sh beside the own client; 0: skip)]
// Database: ConnectionStrings__Postgres, or a private PostgreSQL started like the aggregator's own.
var opts = Args.Parse(args);
var root = Args.RepoRoot();
var binary = opts.Aggregator ?? Path.Combine(root, "src/Aggregator/bin/Release/net10.0/agentmeter-aggregator");
if (!File.Exists(binary)) { Console.Error.WriteLine($"aggregator binary not found at {binary}: build it with `dotnet build -c Release src/Aggregator`"); return 2; }

var dataDir = Path.Combine(Path.GetTempPath(), $"agentmeter-bench-core-{Environment.ProcessId}");
await using var launcher = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ConnectionStrings__Postgres"))
    ? await PostgresLauncher.StartAsync(dataDir)
    : null;
var admin = launcher?.ConnectionString ?? Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")!;
var cs = await Args.FreshDatabaseAsync(admin, "agentmeter_bench");
await using var db = NpgsqlDataSource.Create(cs);
var today = DateOnly.FromDateTime(DateTime.UtcNow);
var report = new List<string>
{
    $"Machine: {Environment.ProcessorCount} cores; PostgreSQL {await db.CreateCommand("SHOW server_version").ExecuteScalarAsync()}; .NET {Environment.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC",
    "",
};

// ---- Ingest: POST /api/v1/events in batches of 1,000 beside raw binary COPY of the same rows ----
if (opts.IngestEvents > 0)
{
    var port = Args.FreePort();
    var grpcPort = Args.FreePort();
    await using var serve = new AggregatorProcess(binary, cs, "serve", "--urls", $"http://127.0.0.1:{port}", "--Otlp:GrpcPort", $"{grpcPort}");
    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    // One channel (one HTTP/2 connection) per OTLP/gRPC client, as each JSON client has its own connection.
    var channels = Enumerable.Range(0, opts.Clients.Max()).Select(_ => GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}")).ToList();
    await Args.WaitReadyAsync(http);
    // Real time, as a gateway posts what just happened: today's events up to now. Backfill: a closed
    // day, for which every write also checks the day's partition and whether the day is aggregated
    // already. Times in random order, as gateways that batch several agents' calls send them: sorted
    // times would grow the duplicate check's index (time first) at its right edge only, which real
    // data does not.
    var now = DateTime.UtcNow;
    var midnight = now.Date;
    var backfillDay = today.AddDays(-2);
    var events = BenchEvents.Generate(opts.IngestEvents, today, 1, "ing", now - midnight).ToList();
    var backfill = BenchEvents.Generate(opts.IngestEvents, backfillDay, 1, "ing").ToList();
    await using (var conn = await db.OpenConnectionAsync())
        await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition(d) FROM unnest(@days::date[]) d", new { days = new[] { today, backfillDay } });
    // Warm-up on other rows, not measured: the connection pool, and enough calls for the JIT's
    // tiered compilation to reach its optimised code (20 batches left it still compiling).
    var warmIds = false;
    foreach (var batch in BenchEvents.Generate(50_000, today, 9, "warm", now - midnight).Concat(BenchEvents.Generate(50_000, backfillDay, 9, "warm")).Chunk(1000))
    {
        using var content = new ByteArrayContent(BenchEvents.Json(batch, withIds: warmIds = !warmIds));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        (await http.PostAsync("/api/v1/events", content)).EnsureSuccessStatusCode();
    }
    // And the OTLP receivers, on spans of the same day.
    foreach (var batch in BenchEvents.Generate(20_000, today, 8, "warm-otlp", now - midnight).Chunk(1000))
    {
        await PostOtlpAsync(BenchSpans.Protobuf(batch));
        await BenchSpans.ExportAsync(channels[0], BenchSpans.Protobuf(batch.Select(e => e with { EventId = "grpc-" + e.EventId })));
    }

    async Task PostOtlpAsync(byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var response = await http.PostAsync("/v1/traces", content);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"OTLP/HTTP answered {(int)response.StatusCode}");
        var reply = AgentMeter.Aggregator.Otlp.Proto.Collector.ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        if (reply.PartialSuccess is { } partial) throw new InvalidOperationException($"{partial.RejectedSpans} spans rejected: {partial.ErrorMessage}");
    }

    async Task ResetAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("TRUNCATE usage_events; CHECKPOINT");
    }

    // Best of --runs for every line, each from an empty table after a CHECKPOINT: one sample of
    // a sub-second COPY moved by ±40 % between runs. The best run's CPU time is kept with it.
    var pgData = launcher is null ? null : Path.Combine(dataDir, "data");
    async Task<(double Rate, string Cpu)> BestRateAsync(Func<Task> run, Func<Task>? check = null)
    {
        var best = (Rate: 0.0, Cpu: "");
        for (var i = 0; i < opts.Runs; i++)
        {
            await ResetAsync();
            var before = CpuTime.Sample(pgData, serve.Pid);
            var sw = Stopwatch.StartNew();
            await run();
            var rate = opts.IngestEvents / sw.Elapsed.TotalSeconds;
            var cpu = CpuTime.Sample(pgData, serve.Pid) - before;
            if (rate > best.Rate) best = (rate, cpu.PerEvent(opts.IngestEvents));
            if (check is not null) await check();
        }
        return best;
    }

    Task<(double Rate, string Cpu)> CopyRateAsync(List<BenchEvent> rows, bool withIds) =>
        BestRateAsync(async () => { await using var conn = await db.OpenConnectionAsync(); await BenchEvents.CopyAsync(conn, rows, withIds); });

    Task<(double Rate, string Cpu)> HttpRateAsync(List<BenchEvent> rows, bool withIds, int clients)
    {
        var batches = rows.Chunk(1000).Select(b => BenchEvents.Json(b, withIds)).ToList();
        return SendRateAsync(rows, batches, clients, async (_, batch) =>
        {
            using var content = new ByteArrayContent(batch);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync("/api/v1/events", content);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"ingest answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        });
    }

    // The same rows as OTLP spans, batches of 1,000 serialised beforehand like the JSON batches.
    Task<(double Rate, string Cpu)> OtlpRateAsync(List<BenchEvent> rows, bool grpc, int clients) =>
        SendRateAsync(rows, rows.Chunk(1000).Select(BenchSpans.Protobuf).ToList(), clients,
            (client, batch) => grpc ? BenchSpans.ExportAsync(channels[client], batch) : PostOtlpAsync(batch));

    // `clients` concurrent senders take the batches in turn; afterwards every row must be stored.
    Task<(double Rate, string Cpu)> SendRateAsync(List<BenchEvent> rows, List<byte[]> batches, int clients, Func<int, byte[], Task> send)
    {
        return BestRateAsync(async () =>
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < batches.Count) await send(client, batches[i]);
            }));
        }, async () =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var stored = await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events");
            if (stored != rows.Count) throw new InvalidOperationException($"{stored} events stored, expected {rows.Count}");
        });
    }

    var copyRate = await CopyRateAsync(events, withIds: true);
    var copyBatchedRate = await BestRateAsync(async () =>
    {
        await using var conn = await db.OpenConnectionAsync();
        foreach (var chunk in events.Chunk(1000)) await BenchEvents.CopyAsync(conn, chunk);
    });
    // Rows without event_id have no entry in the duplicate check's unique index.
    var copyNoIdsRate = await CopyRateAsync(events, withIds: false);
    var copyBackfillRate = await CopyRateAsync(backfill, withIds: true);

    var rows = new List<string>();
    string Row(string what, (double Rate, string Cpu) http, double copy) => $"| {what} | {http.Rate:N0} | {http.Rate / copy:P0} | {http.Cpu} |";
    var most = opts.Clients.Max();
    var jsonRate = (Rate: 0.0, Cpu: "");
    foreach (var ids in new[] { true, false })
    foreach (var clients in opts.Clients.Distinct())
    {
        var rate = await HttpRateAsync(events, ids, clients);
        if (ids && clients == most) jsonRate = rate;
        rows.Add(Row($"HTTP POST /api/v1/events, batches of 1,000, {(ids ? "with event_id (deduplicated)" : "without event_id")}, {clients} client(s)",
            rate, ids ? copyRate.Rate : copyNoIdsRate.Rate));
    }
    // The same rows as OTLP spans, whose event id is their trace and span id: beside JSON with event_id.
    var otlpHttpRate = await OtlpRateAsync(events, grpc: false, most);
    var otlpGrpcRate = await OtlpRateAsync(events, grpc: true, most);
    rows.Add(Row($"OTLP/HTTP POST /v1/traces, protobuf, batches of 1,000 spans, {most} client(s)", otlpHttpRate, copyRate.Rate));
    rows.Add(Row($"OTLP/gRPC TraceService/Export, batches of 1,000 spans, {most} client(s)", otlpGrpcRate, copyRate.Rate));
    rows.Add($"| raw binary COPY, one COPY of all rows, a closed day (backfill), with event_id (baseline for the next line) | {copyBackfillRate.Rate:N0} | 100% | {copyBackfillRate.Cpu} |");
    rows.Add(Row($"HTTP POST /api/v1/events, batches of 1,000, a closed day (backfill), with event_id, {most} client(s)",
        await HttpRateAsync(backfill, true, most), copyBackfillRate.Rate));
    // The same aggregator beside an independent client (bench/curl/run.sh: curl processes, bodies
    // from its own generator, its own psql \copy baseline), in this run.
    var curlRows = new List<string>();
    if (opts.CurlEvents > 0)
        foreach (var (format, daysBack) in new[] { ("json", 0), ("ndjson", 0), ("json", 10), ("ndjson", 10) })
        {
            var (curl, psqlCopy) = await CurlBench.RunAsync(root, cs, $"http://127.0.0.1:{port}", opts.CurlEvents, most, format, daysBack, opts.Runs);
            curlRows.Add($"| curl, {format}, {(daysBack == 0 ? "real time (the last hour)" : $"backfill ({daysBack} days back)")}, batches of 1,000, {most} client(s) " +
                         $"| {curl:N0} | {psqlCopy:N0} | {curl / psqlCopy:N2}× | {curl / (daysBack == 0 ? copyRate.Rate : copyBackfillRate.Rate):P0} |");
        }
    AddTable($"Ingest of {opts.IngestEvents:N0} tool_call events", "events/s | of raw COPY of the same rows | CPU µs per event: PostgreSQL + aggregator + bench client",
    [
        $"| raw binary COPY, one COPY of all rows, with event_id (baseline for rows with ids) | {copyRate.Rate:N0} | 100% | {copyRate.Cpu} |",
        $"| raw binary COPY, one COPY per 1,000 rows, with event_id | {copyBatchedRate.Rate:N0} | {copyBatchedRate.Rate / copyRate.Rate:P0} | {copyBatchedRate.Cpu} |",
        $"| raw binary COPY, one COPY of all rows, without event_id (baseline for rows without ids) | {copyNoIdsRate.Rate:N0} | 100% | {copyNoIdsRate.Cpu} |",
        .. rows,
    ], alignments: "| --- | ---: | ---: | ---: |");
    if (curlRows.Count > 0)
        AddTable($"Ingest of {opts.CurlEvents:N0} tool_call events as an independent client sends them (bench/curl/run.sh)",
            "events/s | psql \\copy (CSV) of the same rows into a plain table with a text primary key, same run, rows/s | of psql \\copy | of raw binary COPY above",
            curlRows, alignments: "| --- | ---: | ---: | ---: | ---: |");
    report.Add($"OTLP beside JSON ingest with event_id, {most} client(s), same run: JSON {jsonRate.Rate:N0} events/s; " +
               $"OTLP/HTTP protobuf {otlpHttpRate.Rate:N0} spans/s ({otlpHttpRate.Rate / jsonRate.Rate:N2}× JSON); OTLP/gRPC {otlpGrpcRate.Rate:N0} spans/s ({otlpGrpcRate.Rate / jsonRate.Rate:N2}× JSON)");
    report.Add($"Aggregator peak resident memory during ingest (VmHWM): {serve.PeakBytes / 1048576.0:N0} MiB");
    report.Add("");
}

// ---- Aggregation of one day: the aggregate command beside the best hand-written INSERT … SELECT … GROUP BY ----
if (opts.AggregateEvents > 0)
{
    if (opts.IngestEvents == 0)
    {
        // Migrations come from the aggregator itself.
        await using var migrate = new AggregatorProcess(binary, cs, "aggregate", "--from", "2000-01-01");
        await migrate.WaitForExitAsync();
    }
    var day = today.AddDays(-3);
    await using (var conn = await db.OpenConnectionAsync())
    {
        await conn.ExecuteAsync(Baseline.RatesSql);
        await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition(@day)", new { day });
        foreach (var chunk in BenchEvents.Generate(opts.AggregateEvents, day, 2, "agg").Chunk(1_000_000))
            await BenchEvents.CopyAsync(conn, chunk);
        await conn.ExecuteAsync("VACUUM ANALYZE usage_events; CREATE TABLE bench_stats (LIKE usage_stats INCLUDING ALL)");
        await conn.ExecuteAsync("SELECT count(*) FROM usage_events"); // warm the cache
    }

    async Task<TimeSpan> BaselineAsync()
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync($"TRUNCATE bench_stats; SET work_mem = '{opts.WorkMem}'");
        var sw = Stopwatch.StartNew();
        await conn.ExecuteAsync(Baseline.InsertSql, new { day, start = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), end = day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) }, commandTimeout: 0);
        return sw.Elapsed;
    }

    // The machine is shared: interleave the two, several times, and keep the best of each.
    TimeSpan baseline = TimeSpan.MaxValue, inTx = TimeSpan.MaxValue, wall = TimeSpan.MaxValue;
    long peak = 0;
    for (var run = 0; run < opts.Runs; run++)
    {
        baseline = Min(baseline, await BaselineAsync());
        await using (var conn = await db.OpenConnectionAsync())
            // Every table the day's aggregation writes, so the next run aggregates the day afresh.
            await conn.ExecuteAsync(
                """
                DELETE FROM usage_stats WHERE date = @day; DELETE FROM usage_stats_by_dimension WHERE date = @day;
                DELETE FROM usage_stats_hourly WHERE date = @day; DELETE FROM aggregated_days WHERE date = @day
                """, new { day });
        var swAgg = Stopwatch.StartNew();
        await using var aggregate = new AggregatorProcess(binary, cs, "aggregate", "--from", day.ToString("yyyy-MM-dd"));
        var exit = await aggregate.WaitForExitAsync();
        wall = Min(wall, swAgg.Elapsed);
        if (exit != 0) throw new InvalidOperationException($"aggregate exited {exit}: {string.Join('\n', aggregate.Output)}");
        peak = Math.Max(peak, aggregate.PeakBytes);
        inTx = Min(inTx, aggregate.Output.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"rows in (\d+) ms")).FirstOrDefault(m => m.Success) is { } m
            ? TimeSpan.FromMilliseconds(long.Parse(m.Groups[1].Value)) : swAgg.Elapsed);
    }
    static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    await using var check = await db.OpenConnectionAsync();
    var same = await check.ExecuteScalarAsync<bool>(Baseline.CompareSql, new { day });
    AddTable($"Aggregation of one day of {opts.AggregateEvents:N0} tool_call events", "seconds | vs. baseline",
    [
        $"| hand-written INSERT … SELECT … GROUP BY (baseline) | {baseline.TotalSeconds:N2} | 1.00× |",
        $"| `aggregate` command: the day's transaction (from its log) | {inTx.TotalSeconds:N2} | {inTx / baseline:N2}× |",
        $"| `aggregate` command: whole process, start to exit | {wall.TotalSeconds:N2} | {wall / baseline:N2}× |",
    ]);
    report.Add($"Best of {opts.Runs} interleaved runs each, both with work_mem {opts.WorkMem}. " +
               $"Results identical to the baseline's (every column of every row): {(same ? "yes" : "NO")}. " +
               $"Aggregator peak resident memory (VmHWM, highest run): {peak / 1048576.0:N0} MiB.");
    report.Add("");
}

Console.WriteLine(string.Join('\n', report));
void AddTable(string title, string columns, IEnumerable<string> rows, string alignments = "| --- | ---: | ---: |")
{
    report.AddRange([$"### {title}", "", $"| path | {columns} |", alignments, .. rows, ""]);
}

if (launcher is not null)
{
    await launcher.DisposeAsync();
    Directory.Delete(dataDir, recursive: true); // this run's own private cluster
}
return 0;

internal sealed record Args(int IngestEvents, int AggregateEvents, int[] Clients, string? Aggregator, int Runs, string WorkMem, int CurlEvents)
{
    public static Args Parse(string[] args)
    {
        string? Get(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return new Args(
            int.Parse(Get("--ingest-events") ?? "1000000"), int.Parse(Get("--aggregate-events") ?? "1000000"),
            (Get("--clients") ?? "1,4").Split(',').Select(int.Parse).ToArray(), Get("--aggregator"),
            int.Parse(Get("--runs") ?? "3"), Get("--work-mem") ?? "256MB", int.Parse(Get("--curl-events") ?? "200000"));
    }

    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "AgentMeter.slnx"))) dir = Path.GetDirectoryName(dir);
        return dir ?? Directory.GetCurrentDirectory();
    }

    public static async Task<string> FreshDatabaseAsync(string admin, string name)
    {
        await using var conn = new NpgsqlConnection(admin);
        await conn.OpenAsync();
        await conn.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await conn.ExecuteAsync($"CREATE DATABASE {name}");
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    public static async Task WaitReadyAsync(HttpClient http)
    {
        for (var i = 0; i < 600; i++)
        {
            try { if ((await http.GetAsync("/readyz")).IsSuccessStatusCode) return; }
            catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException("the aggregator did not become ready");
    }
}
