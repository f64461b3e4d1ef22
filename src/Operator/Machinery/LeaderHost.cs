using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Health;
using AgentMeter.Operator.Kubernetes;
using k8s;

namespace AgentMeter.Operator.Machinery;

/// <summary>
/// Runs the controller only while this replica holds the Lease <c>agentmeter-operator</c>. Losing the Lease
/// stops the controller at once (another replica may be writing) and the replica becomes a candidate again.
/// Nothing that fails ends this loop: an election that throws is retried, a controller that stops unexpectedly is
/// started again after a backoff (while the Lease is held, someone must reconcile).
/// </summary>
public sealed class LeaderHost(
    ApiClient client, Func<ILeaderTerm> newTerm, OperatorOptions options, OperatorMetrics metrics, LoopHealth health,
    TimeProvider time, ILoggerFactory logs) : BackgroundService
{
    private readonly ILogger _logger = logs.CreateLogger<LeaderHost>();
    private volatile ILeaderTerm? _current;

    public string Identity { get; } = options.Identity.Length > 0 ? options.Identity : $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}";
    public bool IsLeading => _current is not null;
    /// <summary>Ready when standing by, or when leading with synced caches (stalled loops are <see cref="LoopHealth"/>'s to report).</summary>
    public bool IsReady => _current is not { } c || c.HasSynced;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.LeaderElection.Enabled)
        {
            await LeadAsync(stoppingToken);
            return;
        }
        var ns = options.ResolveNamespace();
        while (!stoppingToken.IsCancellationRequested)
        {
            var elector = new LeaseElector(client, ns, OperatorOptions.LeaseName, Identity, time, health)
            {
                LeaseDuration = options.LeaderElection.LeaseDuration,
                RenewDeadline = options.LeaderElection.RenewDeadline,
                RetryPeriod = options.LeaderElection.RetryPeriod,
            };
            using var term = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Task? leading = null;
            elector.OnStartedLeading += () =>
            {
                _logger.LogInformation("{Identity} acquired Lease {Ns}/{Lease}", Identity, ns, OperatorOptions.LeaseName);
                leading = LeadAsync(term.Token);
            };
            elector.OnStoppedLeading += () =>
            {
                _logger.LogWarning("{Identity} lost Lease {Ns}/{Lease}; stopping the controller", Identity, ns, OperatorOptions.LeaseName);
                term.Cancel();
            };
            elector.OnError += e => _logger.LogWarning("Leader election: {Error}", ApiErrors.Describe(e));
            try
            {
                await elector.RunUntilLeadershipLostAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Leader election failed; standing for election again");
            }
            await term.CancelAsync();
            if (leading is not null) await leading;
        }
    }

    private async Task LeadAsync(CancellationToken ct)
    {
        metrics.IsLeader.Set(1);
        var failures = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    _current = newTerm();
                    await _current.RunAsync(ct);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    var delay = Backoff.Delay(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), ++failures);
                    _logger.LogError(e, "Controller stopped unexpectedly; starting it again in {Delay:N0} ms", delay.TotalMilliseconds);
                    _current = null;
                    await Task.Delay(delay, time, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            _current = null;
            metrics.IsLeader.Set(0);
        }
    }
}
