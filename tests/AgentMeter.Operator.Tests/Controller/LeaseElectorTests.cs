using System.Text.Json.Nodes;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Tests.Support;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Tests.Controller;

/// <summary>
/// Lease expiry is judged by when this candidate saw the Lease change (its own monotonic clock), never by the
/// holder's renewTime: a holder with a skewed clock neither loses a Lease it renews nor keeps one it abandoned.
/// </summary>
public class LeaseElectorTests
{
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Step = Retry * 1.2 + TimeSpan.FromMilliseconds(1); // the elector waits Retry plus up to 20 % jitter

    private static async Task<V1Lease> HolderWritesAsync(IKubernetes client, DateTime renewTime, V1Lease? previous)
    {
        var lease = previous ?? new V1Lease { Metadata = new V1ObjectMeta { Name = "lease", NamespaceProperty = "ns" } };
        lease.Spec = new V1LeaseSpec { HolderIdentity = "other", LeaseDurationSeconds = 10, AcquireTime = renewTime, RenewTime = renewTime, LeaseTransitions = 0 };
        lease.Metadata.ManagedFields = null;
        return previous is null
            ? await client.CoordinationV1.CreateNamespacedLeaseAsync(lease, "ns")
            : await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "lease", "ns");
    }

    private static (LeaseElector Elector, TaskCompletionSource Started) Elector(FakeApiServer api, TimeProvider time)
    {
        var elector = new LeaseElector(api.OperatorClient(), "ns", "lease", "me", time)
        {
            LeaseDuration = TimeSpan.FromSeconds(10), RenewDeadline = TimeSpan.FromSeconds(8), RetryPeriod = Retry,
        };
        var started = new TaskCompletionSource();
        elector.OnStartedLeading += () => started.TrySetResult();
        return (elector, started);
    }

    private static string Holder(FakeApiServer api) => api.Get("leases", "ns", "lease")!["spec"]!["holderIdentity"]!.GetValue<string>();

    [Fact]
    public async Task AHolderWhoseClockIsAnHourBehindKeepsTheLeaseWhileItRenews()
    {
        await using var api = await FakeApiServer.StartAsync();
        var holder = api.CreateTestClient();
        var time = new SignallingTimeProvider();
        var renewed = time.GetUtcNow().UtcDateTime.AddHours(-1);
        var lease = await HolderWritesAsync(holder, renewed, null);
        var (elector, started) = Elector(api, time);
        using var cts = new CancellationTokenSource();
        var run = elector.RunUntilLeadershipLostAsync(cts.Token);

        // Three lease durations of the holder renewing every retry period, by its own (late) clock.
        for (var i = 0; i < 13; i++)
        {
            await time.NextTimerAsync();
            renewed += Retry;
            lease = await HolderWritesAsync(holder, renewed, lease);
            time.Advance(Step);
        }
        await time.NextTimerAsync();
        Assert.False(started.Task.IsCompleted, "took a Lease its holder keeps renewing");
        Assert.Equal("other", Holder(api));

        // The holder stops: after a lease duration without a change the Lease is free.
        for (var i = 0; i < 6 && !started.Task.IsCompleted; i++)
        {
            time.Advance(Step);
            await Task.WhenAny(started.Task, time.NextTimerAsync());
        }
        Assert.True(started.Task.IsCompleted, "did not take an abandoned Lease");
        Assert.Equal("me", Holder(api));
        await cts.CancelAsync();
        try { await run; } catch (OperationCanceledException) { }
        Assert.Empty(api.Errors);
    }

    [Fact]
    public async Task AHolderWhoseClockIsAnHourAheadLosesTheLeaseALeaseDurationAfterItStops()
    {
        await using var api = await FakeApiServer.StartAsync();
        var time = new SignallingTimeProvider();
        await HolderWritesAsync(api.CreateTestClient(), time.GetUtcNow().UtcDateTime.AddHours(1), null);
        var (elector, started) = Elector(api, time);
        using var cts = new CancellationTokenSource();
        var run = elector.RunUntilLeadershipLostAsync(cts.Token);

        var waited = TimeSpan.Zero;
        while (!started.Task.IsCompleted && waited < TimeSpan.FromMinutes(2))
        {
            await Task.WhenAny(started.Task, time.NextTimerAsync());
            if (started.Task.IsCompleted) break;
            time.Advance(Step);
            waited += Step;
        }
        Assert.True(started.Task.IsCompleted, "still waiting for the holder's renewTime, an hour ahead");
        Assert.InRange(waited, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10) + Step * 2);
        Assert.Equal("me", Holder(api));
        await cts.CancelAsync();
        try { await run; } catch (OperationCanceledException) { }
    }
}
