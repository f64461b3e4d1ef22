using AgentMeter.Aggregator.Database;

namespace AgentMeter.Aggregator.Import;

/// <summary>Polls the audit source every Import__Interval (default 10 s) once migrations ran.</summary>
public sealed class ImportService(
    AuditImporter importer, ImportSource source, ImportOptions options, MigrationState migrations, TimeProvider time, ILogger<ImportService> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        log.LogInformation("Importing audit rows from {Source} every {Interval}", source, options.Interval);
        using var timer = new PeriodicTimer(options.Interval, time);
        do
        {
            try
            {
                await importer.RunOnceAsync(source, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The source may appear later or the database may come back: retry next tick.
                log.LogError("Audit import from {Source} failed, retrying in {Interval}: {Message}", source, options.Interval, e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
