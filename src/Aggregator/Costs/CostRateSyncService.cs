using System.Threading.Channels;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;

namespace AgentMeter.Aggregator.Costs;

/// <summary>
/// Syncs the cost rates once at start (before later hosted services, such as the aggregation
/// schedule, start) and again after every reload of the resources.
/// </summary>
public sealed class CostRateSyncService(CostRateSync sync, ResourceStore store, MigrationState migrations, ILogger<CostRateSyncService> log)
    : BackgroundService
{
    // Capacity 1, newest wins: a burst of reloads is one sync of the latest set.
    private readonly Channel<ResourceSet> _changes = Channel.CreateBounded<ResourceSet>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });

    public override async Task StartAsync(CancellationToken ct)
    {
        store.Changed += OnChanged;
        await migrations.WaitAsync(ct);
        await sync.SyncAsync(store.Current, ct);
        await base.StartAsync(ct);
    }

    public override async Task StopAsync(CancellationToken ct)
    {
        store.Changed -= OnChanged;
        await base.StopAsync(ct);
    }

    private void OnChanged(ResourceSet set) => _changes.Writer.TryWrite(set);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var set in _changes.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await sync.SyncAsync(set, stoppingToken);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                // The next reload retries; until then the previous rates stay in force.
                log.LogError(e, "Cost rates could not be synced to the database; the previous rates stay in force");
            }
        }
    }
}
