using AgentMeter.Aggregator.Database;

namespace AgentMeter.Aggregator.Live;

/// <summary>
/// Runs <see cref="LiveRollup"/> every <c>Live__RefreshInterval</c> once migrations ran, and never for more than
/// <c>Live__MaxShare</c> of the time while today's figures stay within a minute old: a refresh reads the whole day, so on
/// a busy day it takes seconds, and back-to-back refreshes would take a database core from ingest.
/// </summary>
public sealed class LiveRefreshService(LiveRollup live, MigrationState migrations, LiveOptions options, TimeProvider time,
    ILogger<LiveRefreshService> log) : RecurringJob(migrations, time, log)
{
    protected override TimeSpan Interval => options.RefreshInterval;
    protected override string Name => "Live rollup";
    protected override Task RunOnceAsync(CancellationToken ct) => live.RefreshAsync(ct);
    protected override TimeSpan RestAfter(TimeSpan took) => options.RestAfter(took);
}
