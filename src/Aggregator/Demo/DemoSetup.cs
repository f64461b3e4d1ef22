using AgentMeter.Aggregator.Ingest;

namespace AgentMeter.Aggregator.Demo;

public static class DemoSetup
{
    /// <summary>
    /// Writes the generated events through the ingest path (validation aside, the same writer and
    /// observers as <c>POST /api/v1/events</c>). The aggregation schedule then aggregates every closed
    /// day when the app starts, after the cost rates of <c>--resources</c> are in the database.
    /// </summary>
    public static async Task SeedDemoAsync(this IServiceProvider services, IConfiguration config, CancellationToken ct)
    {
        var options = config.GetSection("Demo").Get<DemoOptions>() ?? new DemoOptions();
        var log = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DemoSetup));
        var events = DemoGenerator.Generate(options, services.GetRequiredService<TimeProvider>().GetUtcNow());
        var ingest = services.GetRequiredService<IngestService>();
        long stored = 0;
        foreach (var batch in events.Chunk(5000))
            stored += (await ingest.StoreAsync(batch, "demo", ct)).Stored.Count;
        log.LogInformation("Demo data: {Stored} events stored ({Skipped} already there) over {Days} days", stored, events.Count - stored, options.Days + 1);
    }
}
