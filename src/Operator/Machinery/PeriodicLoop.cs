using AgentMeter.Operator.Health;
using AgentMeter.Operator.Kubernetes;

namespace AgentMeter.Operator.Machinery;

/// <summary>
/// Runs a cycle every <paramref name="period"/> for as long as the token lasts. A failed cycle never ends the loop:
/// it is logged and retried after a backoff (up to the period, or later when the API server sent Retry-After).
/// Completed cycles are reported to <see cref="LoopHealth"/>, so a loop that keeps failing shows on <c>/readyz</c>.
/// </summary>
public sealed class PeriodicLoop(string name, TimeSpan period, LoopHealth health, TimeProvider time, ILogger logger)
{
    public async Task RunAsync(Func<CancellationToken, Task> cycle, CancellationToken ct, bool runFirst = false)
    {
        health.Start(name, period);
        try
        {
            if (!runFirst) await Task.Delay(period, time, ct);
            var failures = 0;
            while (!ct.IsCancellationRequested)
            {
                var wait = period;
                try
                {
                    await cycle(ct);
                    failures = 0;
                    health.Cycle(name);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    failures++;
                    wait = Backoff.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, period.TotalMilliseconds)), period, failures, ApiErrors.RetryAfter(e));
                    logger.LogWarning("{Loop} failed ({Error}); retrying in {Delay:N0} ms", name, ApiErrors.Describe(e), wait.TotalMilliseconds);
                }
                await Task.Delay(wait, time, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            health.Stop(name);
        }
    }
}
