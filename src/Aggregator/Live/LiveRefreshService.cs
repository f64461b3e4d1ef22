using AgentMeter.Aggregator.Database;

namespace AgentMeter.Aggregator.Live;

/// <summary>Runs <see cref="LiveRollup"/> every <c>Live__RefreshInterval</c> once migrations ran.</summary>
public sealed class LiveRefreshService(LiveRollup live, MigrationState migrations, LiveOptions options, TimeProvider time,
    ILogger<LiveRefreshService> log) : RecurringJob(migrations, time, log)
{
    protected override TimeSpan Interval => options.RefreshInterval;
    protected override string Name => "Live rollup";
    protected override Task RunOnceAsync(CancellationToken ct) => live.RefreshAsync(ct);
}
