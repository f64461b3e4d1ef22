using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.SelfMonitoring;

namespace AgentMeter.Aggregator.Retention;

/// <summary>
/// Runs the retention pass at the policy's schedule (cron in its time zone). Every replica runs
/// this loop; the advisory lock lets one of them do each pass and the others skip. A policy change
/// re-plans the next run at once. A run missed while no replica was up is not made up: the next one
/// does all the work that is due.
/// </summary>
public sealed class RetentionScheduler(
    RetentionPass pass, ResourceStore resources, MigrationState migrations, SelfMetrics self, TimeProvider time, ILogger<RetentionScheduler> log)
    : BackgroundService
{
    // Wakes at least once a minute and re-reads the clock: a clock step (VM resumed, NTP) or a
    // timer armed a moment late never delays a run by more than that.
    private static readonly TimeSpan LongestWait = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            if (await WaitForNextRunAsync(stoppingToken))
                await RunAsync(stoppingToken);
        }
    }

    /// <summary>True when the scheduled time came; false when the policy changed first.</summary>
    private async Task<bool> WaitForNextRunAsync(CancellationToken ct)
    {
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(ResourceSet _) => changed.TrySetResult();
        resources.Changed += OnChanged;
        try
        {
            var spec = resources.Current.Retention.Spec;
            var next = RetentionSchedule.NextRun(spec, time.GetUtcNow());
            if (next is null)
                log.LogWarning("Retention schedule \"{Schedule}\" never fires: no scheduled pass until the policy changes", spec.Schedule);
            else
                log.LogInformation("Next retention pass at {Next:O} (schedule \"{Schedule}\" in {TimeZone})", next, spec.Schedule, spec.TimeZone);
            while (true)
            {
                var wait = next is { } n ? n - time.GetUtcNow() : LongestWait;
                if (next is not null && wait <= TimeSpan.Zero) return true;
                using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var delay = Task.Delay(wait < LongestWait ? wait : LongestWait, time, delayCancel.Token);
                var first = await Task.WhenAny(delay, changed.Task);
                await delayCancel.CancelAsync();
                ct.ThrowIfCancellationRequested();
                if (first == changed.Task) return false;
            }
        }
        finally
        {
            resources.Changed -= OnChanged;
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        try
        {
            if (await pass.RunAsync(waitForLock: false, ct) is { Succeeded: true })
                self.RetentionSucceeded(time.GetUtcNow());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database may be down for a moment: say so and try again at the next occurrence.
            log.LogError(e, "Retention pass could not run: {Message}", e.Message);
        }
    }
}
