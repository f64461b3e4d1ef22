// One retention pass over a year of data, against a hand-written SQL baseline doing the same work
// on an identical copy of the database. See docs/benchmarks-retention.md.
//
//   dotnet run -c Release --project bench/Retention -- [--days 365] [--groups 2000] [--events 5000]
//
// Uses ConnectionStrings__Postgres (a superuser, it creates databases) or a private cluster.
using System.Diagnostics;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Bench.Retention;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

var days = Arg("--days", 365);
var groups = Arg("--groups", 2000);
var eventsPerDay = Arg("--events", 5000);
// "Now" is the day after the last generated day: default policy, 90 daily days stay.
var now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
var first = DateOnly.FromDateTime(now.UtcDateTime).AddDays(-days);

await using var launcher = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") is { Length: > 0 }
    ? null
    : await PostgresLauncher.StartAsync(Path.Combine(Path.GetTempPath(), "agentmeter-bench-retention"));
var admin = launcher?.ConnectionString ?? Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")!;

Console.WriteLine($"Generating {days} days x {groups} usage_stats rows and {eventsPerDay} raw events per day ...");
var passDb = await Bench.CreateDatabaseAsync(admin, "bench_retention_pass", template: null);
await using (var source = NpgsqlDataSource.Create(passDb))
{
    await new Migrator(source, NullLogger<Migrator>.Instance).MigrateAsync();
    var sw = Stopwatch.StartNew();
    await Bench.GenerateAsync(source, first, days, groups, eventsPerDay);
    Console.WriteLine($"generated in {sw.Elapsed.TotalSeconds:F1} s");
}
NpgsqlConnection.ClearAllPools();
var baselineDb = await Bench.CreateDatabaseAsync(admin, "bench_retention_baseline", template: "bench_retention_pass");

var results = new List<Bench.Result>();
await using (var db = NpgsqlDataSource.Create(passDb))
{
    var before = await Bench.SizesAsync(db);
    var store = new ResourceStore(new ResourceOptions(), NullLogger<ResourceStore>.Instance, new FixedClock(now));
    store.Reload();
    using var logs = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
    var pass = new RetentionPass(db, store, new RetentionOptions(), new FixedClock(now), logs.CreateLogger<RetentionPass>());
    var sw = Stopwatch.StartNew();
    var outcome = await pass.RunAsync(waitForLock: true, CancellationToken.None)
        ?? throw new InvalidOperationException("retention lock held by someone else");
    sw.Stop();
    if (!outcome.Succeeded) throw new InvalidOperationException(outcome.Details.Message);
    results.Add(new("RetentionPass (one transaction per month)", sw.Elapsed, before, await Bench.SizesAsync(db), await Bench.VacuumedSizesAsync(db), await Bench.ChecksumAsync(db)));
    Console.WriteLine(outcome.Details.Message);
    var reuseDays = 30;
    var grown = await Bench.SizeAfterMoreDaysAsync(db, DateOnly.FromDateTime(now.UtcDateTime), reuseDays, groups);
    Console.WriteLine($"usage_stats after VACUUM and {reuseDays} more days inserted: {Bench.Mb(grown)} (freed space reused)");
}
await using (var db = NpgsqlDataSource.Create(baselineDb))
{
    var before = await Bench.SizesAsync(db);
    var keepFrom = DateOnly.FromDateTime(now.UtcDateTime).AddDays(-90);
    var sw = Stopwatch.StartNew();
    await Bench.BaselineAsync(db, keepFrom);
    sw.Stop();
    results.Add(new("hand-written SQL, one transaction", sw.Elapsed, before, await Bench.SizesAsync(db), await Bench.VacuumedSizesAsync(db), await Bench.ChecksumAsync(db)));
}

Console.WriteLine();
Console.WriteLine($"{days} days, {groups} usage_stats rows/day, {eventsPerDay} raw events/day, {Environment.ProcessorCount} cores");
Console.WriteLine("| run | time | usage_stats before → after → after VACUUM | usage_stats_monthly after | usage_events before → after |");
Console.WriteLine("| --- | --- | --- | --- | --- |");
foreach (var r in results)
    Console.WriteLine($"| {r.Name} | {r.Time.TotalSeconds:F2} s | {Bench.Mb(r.Before.Daily)} → {Bench.Mb(r.After.Daily)} → {Bench.Mb(r.Vacuumed.Daily)} | " +
                      $"{Bench.Mb(r.After.Monthly)} | {Bench.Mb(r.Before.Events)} ({r.Before.Partitions} partitions) → {Bench.Mb(r.After.Events)} ({r.After.Partitions}) |");
Console.WriteLine(results[0].Checksum == results[1].Checksum
    ? $"Both leave identical data: {results[0].Checksum}"
    : $"DIFFERENT RESULTS:\n  pass:     {results[0].Checksum}\n  baseline: {results[1].Checksum}");
return results[0].Checksum == results[1].Checksum ? 0 : 1;

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}
