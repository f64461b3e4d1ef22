using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Operator.Tests.Machinery;

public class WorkQueueTests
{
    [Fact]
    public async Task AKeyIsNeverProcessedTwiceAtOnceAndAddsDuringProcessingAreKept()
    {
        var queue = new WorkQueue(TimeProvider.System);
        var running = new Dictionary<string, int>();
        var maxConcurrentPerKey = 0;
        var processed = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        async Task Worker()
        {
            while (Volatile.Read(ref processed) < 200)
            {
                string key;
                try { key = await queue.TakeAsync(cts.Token); } catch (OperationCanceledException) { return; }
                lock (running)
                {
                    running[key] = running.GetValueOrDefault(key) + 1;
                    maxConcurrentPerKey = Math.Max(maxConcurrentPerKey, running[key]);
                }
                await Task.Delay(1);
                lock (running) running[key]--;
                Interlocked.Increment(ref processed);
                queue.Done(key);
            }
        }
        bool RunningNone() { lock (running) return running.Values.All(n => n == 0); }
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(Worker)).ToList();
        for (var i = 0; i < 400; i++) queue.Add($"k{i % 3}"); // three hot keys, re-added while in flight
        // Done once every add has been taken and every key processed since: nothing waits, nothing runs.
        await OperatorHarness.WaitUntilAsync(() => queue.Depth == 0 && Volatile.Read(ref processed) >= 3 && RunningNone(), "the queue drained");
        cts.Cancel();
        await Task.WhenAll(workers);
        Assert.Equal(1, maxConcurrentPerKey);
        Assert.True(processed >= 3);
    }

    [Fact]
    public async Task DuplicatesCollapseAndFailuresBackOffExponentially()
    {
        var queue = new WorkQueue(TimeProvider.System, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1));
        queue.Add("a");
        queue.Add("a");
        Assert.Equal(1, queue.Depth);
        var key = await queue.TakeAsync(CancellationToken.None);
        queue.Done(key);
        var delays = Enumerable.Range(0, 6).Select(_ => queue.AddRateLimited("b", CancellationToken.None).TotalMilliseconds).ToList();
        Assert.InRange(delays[0], 8, 12);
        Assert.InRange(delays[4], 128, 192);
        Assert.True(delays.Zip(delays.Skip(1)).All(p => p.Second > p.First * 1.3), string.Join(", ", delays));
        queue.Forget("b");
        Assert.InRange(queue.AddRateLimited("b", CancellationToken.None).TotalMilliseconds, 8, 12);
    }
}
