using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace AgentMeter.Operator.Kubernetes;

/// <summary>
/// Leader election on a <c>coordination.k8s.io/v1</c> Lease, with client-go's rules: take the Lease when it is
/// missing, ours, or not renewed for <see cref="LeaseDuration"/>; renew every <see cref="RetryPeriod"/>; give
/// leadership up when no renewal succeeded for <see cref="RenewDeadline"/>. Every write carries the
/// resourceVersion read, so of two candidates only one wins (the other gets 409 Conflict).
/// (KubernetesClient's LeaderElector is not part of its Native AOT build.)
/// </summary>
public sealed class LeaseElector(IKubernetes client, string ns, string name, string identity, TimeProvider time)
{
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    public event Action? OnStartedLeading;
    public event Action? OnStoppedLeading;
    public event Action<Exception>? OnError;

    /// <summary>Waits for the Lease, leads until a renewal deadline passes (or <paramref name="ct"/> ends), then returns.</summary>
    public async Task RunUntilLeadershipLostAsync(CancellationToken ct)
    {
        while (!await TryAcquireOrRenewAsync(ct, ct))
            await Task.Delay(Jittered(RetryPeriod), time, ct);
        OnStartedLeading?.Invoke();
        try
        {
            var lastRenewal = time.GetUtcNow();
            while (time.GetUtcNow() - lastRenewal < RenewDeadline)
            {
                await Task.Delay(RetryPeriod, time, ct);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(RenewDeadline);
                if (await TryAcquireOrRenewAsync(attempt.Token, ct)) lastRenewal = time.GetUtcNow();
            }
        }
        finally
        {
            OnStoppedLeading?.Invoke();
        }
    }

    /// <summary>One attempt, bounded by <paramref name="ct"/>; only the end of <paramref name="run"/> throws.</summary>
    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken ct, CancellationToken run)
    {
        var now = time.GetUtcNow().UtcDateTime;
        try
        {
            var lease = await ReadAsync(ct);
            if (lease is null)
            {
                await client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
                {
                    Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
                    Spec = Spec(acquired: now, now, transitions: 0),
                }, ns, cancellationToken: ct);
                return true;
            }
            var spec = lease.Spec ?? new V1LeaseSpec();
            var ours = spec.HolderIdentity == identity;
            var expires = (spec.RenewTime ?? DateTime.MinValue) + TimeSpan.FromSeconds(spec.LeaseDurationSeconds ?? 0);
            if (!ours && !string.IsNullOrEmpty(spec.HolderIdentity) && expires > now) return false;
            lease.Spec = ours
                ? Spec(spec.AcquireTime ?? now, now, spec.LeaseTransitions ?? 0)
                : Spec(now, now, (spec.LeaseTransitions ?? 0) + 1);
            // Left out, the server keeps them; sent back, their untyped fieldsV1 would need reflection to serialize.
            lease.Metadata.ManagedFields = null;
            await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, name, ns, cancellationToken: ct);
            return true;
        }
        catch (Exception e) when (!run.IsCancellationRequested && e is HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            // 409 Conflict: another candidate wrote first. Anything else: try again next period.
            OnError?.Invoke(e);
            return false;
        }
    }

    private async Task<V1Lease?> ReadAsync(CancellationToken ct)
    {
        try
        {
            return await client.CoordinationV1.ReadNamespacedLeaseAsync(name, ns, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
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
