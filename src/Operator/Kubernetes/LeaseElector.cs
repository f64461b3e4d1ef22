using System.Net;
using AgentMeter.Operator.Health;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Kubernetes;

/// <summary>
/// Leader election on a <c>coordination.k8s.io/v1</c> Lease, with client-go's rules: take the Lease when it is
/// missing, ours, or expired; renew every <see cref="RetryPeriod"/>; give leadership up when no renewal succeeded
/// for <see cref="RenewDeadline"/>. Every write carries the resourceVersion read, so of two candidates only one wins
/// (the other gets 409 Conflict). Expiry is judged on this process's monotonic clock from when it last saw the Lease
/// change, never from the holder's renewTime: a holder whose clock is behind is not robbed, one whose clock is ahead
/// does not keep the Lease after it stopped renewing. (KubernetesClient's LeaderElector is not part of its Native AOT build.)
/// </summary>
public sealed class LeaseElector(ApiClient client, string ns, string name, string identity, TimeProvider time, LoopHealth? health = null)
{
    public const string LoopName = "leader-election";

    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    public event Action? OnStartedLeading;
    public event Action? OnStoppedLeading;
    public event Action<Exception>? OnError;

    // The Lease record as last read (holder, renew time, transitions) and when, on the monotonic clock, it changed.
    private (string? Holder, DateTime? Renewed, int? Transitions)? _observed;
    private long _observedAt;

    /// <summary>Waits for the Lease, leads until a renewal deadline passes (or <paramref name="ct"/> ends), then returns.</summary>
    public async Task RunUntilLeadershipLostAsync(CancellationToken ct)
    {
        health?.Start(LoopName, LeaseDuration);
        try
        {
            TimeSpan? retryAfter;
            while (!(await TryAcquireOrRenewAsync(ct, ct)).Won(out retryAfter))
                await Task.Delay(retryAfter is { } after && after > RetryPeriod ? after : Jittered(RetryPeriod), time, ct);
            OnStartedLeading?.Invoke();
            try
            {
                var lastRenewal = time.GetTimestamp();
                while (time.GetElapsedTime(lastRenewal) < RenewDeadline)
                {
                    await Task.Delay(RetryPeriod, time, ct);
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    attempt.CancelAfter(RenewDeadline);
                    if ((await TryAcquireOrRenewAsync(attempt.Token, ct)).Won(out _)) lastRenewal = time.GetTimestamp();
                }
            }
            finally
            {
                OnStoppedLeading?.Invoke();
            }
        }
        finally
        {
            health?.Stop(LoopName);
        }
    }

    private readonly record struct Attempt(bool Acquired, TimeSpan? RetryAfter)
    {
        public bool Won(out TimeSpan? retryAfter)
        {
            retryAfter = RetryAfter;
            return Acquired;
        }
    }

    /// <summary>One attempt, bounded by <paramref name="ct"/>; only the end of <paramref name="run"/> throws.</summary>
    private async Task<Attempt> TryAcquireOrRenewAsync(CancellationToken ct, CancellationToken run)
    {
        var now = time.GetUtcNow().UtcDateTime;
        try
        {
            var lease = await ReadAsync(ct);
            if (lease is null)
            {
                using var _ = await client.SendAsync(HttpMethod.Post, ObjectKind.Lease.CollectionIn(ns), ApiClient.ModelBody(new V1Lease
                {
                    ApiVersion = ObjectKind.Lease.ApiVersion,
                    Kind = ObjectKind.Lease.Kind,
                    Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
                    Spec = Spec(acquired: now, now, transitions: 0),
                }), HttpCompletionOption.ResponseContentRead, ct);
                Answered();
                return new Attempt(true, null);
            }
            var spec = lease.Spec ?? new V1LeaseSpec();
            var ours = spec.HolderIdentity == identity;
            var record = (spec.HolderIdentity, spec.RenewTime, spec.LeaseTransitions);
            if (_observed != record)
            {
                _observed = record;
                _observedAt = time.GetTimestamp();
            }
            Answered();
            var expired = time.GetElapsedTime(_observedAt) > TimeSpan.FromSeconds(spec.LeaseDurationSeconds ?? 0);
            if (!ours && !string.IsNullOrEmpty(spec.HolderIdentity) && !expired) return new Attempt(false, null);
            lease.Spec = ours
                ? Spec(spec.AcquireTime ?? now, now, spec.LeaseTransitions ?? 0)
                : Spec(now, now, (spec.LeaseTransitions ?? 0) + 1);
            // Left out, the server keeps them.
            lease.Metadata.ManagedFields = null;
            var written = await client.ReadAsync<V1Lease>(HttpMethod.Put, ObjectKind.Lease.ObjectPath(ns, name), ApiClient.ModelBody(lease), ct);
            _observed = (written.Spec?.HolderIdentity, written.Spec?.RenewTime, written.Spec?.LeaseTransitions);
            _observedAt = time.GetTimestamp();
            return new Attempt(true, null);
        }
        catch (Exception e) when (!run.IsCancellationRequested)
        {
            // 409 Conflict: another candidate wrote first (the API server answered). Anything else: try again next period.
            if (e is ApiRefusedException { StatusCode: HttpStatusCode.Conflict }) Answered();
            OnError?.Invoke(e);
            return new Attempt(false, ApiErrors.RetryAfter(e));
        }
    }

    /// <summary>The API server answered an election request: the loop is alive, whoever holds the Lease.</summary>
    private void Answered() => health?.Cycle(LoopName);

    private async Task<V1Lease?> ReadAsync(CancellationToken ct)
    {
        try
        {
            return await client.ReadAsync<V1Lease>(HttpMethod.Get, ObjectKind.Lease.ObjectPath(ns, name), null, ct);
        }
        catch (ApiRefusedException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private V1LeaseSpec Spec(DateTime acquired, DateTime renewed, int transitions) => new()
    {
        HolderIdentity = identity,
        LeaseDurationSeconds = (int)Math.Ceiling(LeaseDuration.TotalSeconds),
        AcquireTime = acquired,
        RenewTime = renewed,
        LeaseTransitions = transitions,
    };

    private static TimeSpan Jittered(TimeSpan period) => period * (1 + 0.2 * Random.Shared.NextDouble());
}
