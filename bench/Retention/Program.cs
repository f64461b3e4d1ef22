// One retention pass over a year of data, against a hand-written SQL baseline doing the same work,
// each on a fresh copy of the same generated database, alternating order over several rounds.
// See docs/benchmarks.md.
//
//   dotnet run -c Release --project bench/Retention -- [--days 365] [--groups 2000] [--events 5000] [--rounds 3]
//
// Uses ConnectionStrings__Postgres (a superuser: it creates databases) or a private cluster.
using System.Diagnostics;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Bench.Retention;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

var days = Arg("--days", 365);
var groups = Arg("--groups", 2000);
var eventsPerDay = Arg("--events", 5000);
var rounds = Arg("--rounds", 3);
// "Now" is the day after the last generated day; default policy: 90 days stay daily and raw.
var now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
var today = DateOnly.FromDateTime(now.UtcDateTime);
var keepFrom = today.AddDays(-90);

await using var launcher = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") is { Length: > 0 }
    ? null
    : await PostgresLauncher.StartAsync(Path.Combine(Path.GetTempPath(), "agentmeter-bench-retention"));
var admin = launcher?.ConnectionString ?? Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")!;

Console.WriteLine($"Generating {days} days x {groups} usage_stats rows and {eventsPerDay} raw events per day ...");
var seedDb = await Bench.CreateDatabaseAsync(admin, "bench_retention_seed", template: null);
await using (var seed = NpgsqlDataSource.Create(seedDb))
{
    await new Migrator(seed, NullLogger<Migrator>.Instance).MigrateAsync();
    var sw = Stopwatch.StartNew();
    await Bench.GenerateAsync(seed, today.AddDays(-days), days, groups, eventsPerDay);
    Console.WriteLine($"generated in {sw.Elapsed.TotalSeconds:F1} s");
}
NpgsqlConnection.ClearAllPools();

var runs = new Dictionary<string, List<Bench.Result>> { [Bench.PassName] = [], [Bench.BaselineName] = [] };
for (var round = 0; round < rounds; round++)
{
    // Alternate which goes first, so neither always meets the other's leftover I/O.
    var order = round % 2 == 0 ? new[] { Bench.PassName, Bench.BaselineName } : [Bench.BaselineName, Bench.PassName];
    foreach (var name in order)
    {
        var copy = await Bench.CreateDatabaseAsync(admin, "bench_retention_run", template: "bench_retention_seed");
        await using var db = NpgsqlDataSource.Create(copy);
        var result = await Bench.MeasureAsync(db, name, name == Bench.PassName ? () => PassAsync(db) : () => Bench.BaselineAsync(db, keepFrom));
        runs[name].Add(result);
        Console.WriteLine($"round {round + 1}: {name}: {result.Time.TotalSeconds:F2} s");
        if (round == 0 && name == Bench.PassName)
        {
            Console.WriteLine($"  usage_stats after VACUUM and 30 more days inserted: {Bench.Mb(await Bench.SizeAfterMoreDaysAsync(db, today, 30, groups))} (freed space reused)");
            Console.WriteLine($"  usage_stats (those 120 days) after VACUUM FULL: {Bench.Mb(await Bench.SizeAfterVacuumFullAsync(db))}");
        }
        await db.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
    }
}

Console.WriteLine();
Console.WriteLine($"{days} days, {groups} usage_stats rows/day, {eventsPerDay} raw events/day, {Environment.ProcessorCount} cores, {rounds} rounds");
Console.WriteLine("| run | time (median, min–max) | usage_stats before → after → after VACUUM | usage_stats_monthly after | usage_events before → after |");
Console.WriteLine("| --- | --- | --- | --- | --- |");
foreach (var (name, list) in runs)
{
    var times = list.Select(r => r.Time.TotalSeconds).Order().ToList();
    var r = list[0];
    Console.WriteLine($"| {name} | {times[times.Count / 2]:F2} s ({times[0]:F2}–{times[^1]:F2}) | {Bench.Mb(r.Before.Daily)} → {Bench.Mb(r.After.Daily)} → {Bench.Mb(r.Vacuumed.Daily)} | " +
                      $"{Bench.Mb(r.After.Monthly)} | {Bench.Mb(r.Before.Events)} ({r.Before.Partitions} partitions) → {Bench.Mb(r.After.Events)} ({r.After.Partitions}) |");
}
var checksums = runs.Values.SelectMany(l => l).Select(r => r.Checksum).Distinct().ToList();
Console.WriteLine(checksums.Count == 1 ? $"Every run leaves identical data: {checksums[0]}" : "DIFFERENT RESULTS:\n  " + string.Join("\n  ", checksums));
return checksums.Count == 1 ? 0 : 1;

async Task PassAsync(NpgsqlDataSource db)
{
    var clock = new FixedClock(now);
    var store = new ResourceStore(new ResourceOptions(), NullLogger<ResourceStore>.Instance, clock);
    store.Reload();
    var pass = new RetentionPass(db, store, new RetentionOptions(), clock, NullLogger<RetentionPass>.Instance);
    var outcome = await pass.RunAsync(waitForLock: true, CancellationToken.None)
        ?? throw new InvalidOperationException("retention lock held by someone else");
    if (!outcome.Succeeded) throw new InvalidOperationException(outcome.Details.Message);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}
