namespace AgentMeter.Aggregator.Database;

/// <summary>
/// A background job that runs once migrations ran, then every <see cref="Interval"/>. Whatever goes
/// wrong in a run is logged and the next interval tries again: a failed run must not stop the job.
/// </summary>
public abstract class RecurringJob(MigrationState migrations, TimeProvider time, ILogger log) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    protected abstract TimeSpan Interval { get; }

    /// <summary>What the job does, for the log ("Alert evaluation").</summary>
    protected abstract string Name { get; }

    protected abstract Task RunOnceAsync(CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(Interval, Time);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogError(e, "{Job} failed, retrying at the next interval: {Message}", Name, e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
