using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;

namespace AgentMeter.Operator.Tests.FakeApi;

public class FakeApiServerTests
{
    [Fact]
    public async Task LeaderElectorAcquiresLeaseOnFake()
    {
        await using var api = await FakeApiServer.StartAsync();
        var client = api.CreateClient();
        var elector = new LeaderElector(new LeaderElectionConfig(new LeaseLock(client, "ns", "lease", "me"))
        {
            LeaseDuration = TimeSpan.FromSeconds(2), RenewDeadline = TimeSpan.FromSeconds(1.5), RetryPeriod = TimeSpan.FromMilliseconds(250),
        });
        var errors = new List<string>();
        elector.OnError += e => errors.Add(e.ToString());
        var started = new TaskCompletionSource();
        elector.OnStartedLeading += () => started.TrySetResult();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var run = elector.RunUntilLeadershipLostAsync(cts.Token);
        await Task.WhenAny(started.Task, Task.Delay(4000));
        Assert.True(started.Task.IsCompleted, string.Join("\n", errors) + "\n" + api.Get("leases", "ns", "lease"));
    }
}
