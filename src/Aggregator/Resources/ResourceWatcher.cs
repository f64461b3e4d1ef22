namespace AgentMeter.Aggregator.Resources;

/// <summary>Polls the resource files and reloads the store when they change.</summary>
public sealed class ResourceWatcher(ResourceStore store, ResourceOptions options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ReloadInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
            store.Reload();
    }
}
