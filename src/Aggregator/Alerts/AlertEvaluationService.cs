using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.SelfMonitoring;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>Runs <see cref="AlertEvaluator"/> on a timer once migrations ran.</summary>
public sealed class AlertEvaluationService(AlertEvaluator evaluator, MigrationState migrations, AlertOptions options, SelfMetrics self,
    TimeProvider time, ILogger<AlertEvaluationService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(options.EvaluationInterval, time);
        do
        {
            var ticks = time.GetTimestamp();
            try
            {
                // One observation per cycle this replica ran (a failed one too: its time counts), none when another holds the lock.
                if (await evaluator.EvaluateAllAsync(stoppingToken)) self.AlertEvaluationCycle(time.GetElapsedTime(ticks));
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever went wrong, the next interval tries again: a failed cycle must not stop the service.
                log.LogError(e, "Alert evaluation failed, retrying at the next interval: {Message}", e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
