using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.SelfMonitoring;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>Runs <see cref="AlertEvaluator"/> every <c>Alerts__EvaluationInterval</c> once migrations ran.</summary>
public sealed class AlertEvaluationService(AlertEvaluator evaluator, MigrationState migrations, AlertOptions options, SelfMetrics self,
    TimeProvider time, ILogger<AlertEvaluationService> log) : RecurringJob(migrations, time, log)
{
    protected override TimeSpan Interval => options.EvaluationInterval;
    protected override string Name => "Alert evaluation";

    protected override async Task RunOnceAsync(CancellationToken ct)
    {
        var ticks = Time.GetTimestamp();
        // One observation per cycle this replica ran (one with failing alerts too: its time counts), none when another holds the lock.
        if (await evaluator.EvaluateAllAsync(ct)) self.AlertEvaluationCycle(Time.GetElapsedTime(ticks));
    }
}
