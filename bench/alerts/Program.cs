// Benchmarks of the alerts capability (not part of the test run):
//   dotnet run -c Release --project bench/alerts -- [evaluation|ingest|all|observer]
// Starts a private PostgreSQL from the machine's binaries in a temp folder; results go to stdout
// (copied into docs/benchmarks.md).
using AgentMeter.Aggregator.Database;
using AgentMeter.Bench.Alerts;

var what = args.FirstOrDefault() ?? "all";
if (what == "observer")
{
    IngestBench.RunObserver();
    return;
}
var dir = Path.Combine(Path.GetTempPath(), $"agentmeter-bench-alerts-{Environment.ProcessId}");
await using var pg = await PostgresLauncher.StartAsync(dir);
try
{
    Console.WriteLine($"# AgentMeter alerts benchmarks — {DateTime.UtcNow:yyyy-MM-dd HH:mm}Z, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
    if (what is "all" or "evaluation") await EvaluationBench.RunAsync(await pg.EnsureDatabaseAsync("bench_eval"));
    if (what is "all" or "ingest") await IngestBench.RunAsync(await pg.EnsureDatabaseAsync("bench_ingest"));
}
finally
{
    await pg.DisposeAsync();
    try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}
