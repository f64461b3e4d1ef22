using System.Diagnostics;

namespace AgentMeter.Bench.Analytics;

public sealed record LoadResult(string Name, int Requests, double Seconds, double P50Ms, double P99Ms)
{
    public double PerSecond => Requests / Seconds;
    public override string ToString() => $"| {Name} | {Requests} | {PerSecond:F0} | {P50Ms:F1} | {P99Ms:F1} |";
}

/// <summary>Runs one operation from several concurrent workers for a fixed time and reports latency percentiles.</summary>
public static class Load
{
    public static async Task<LoadResult> RunAsync(string name, int workers, TimeSpan duration, Func<Task> operation)
    {
        for (var i = 0; i < 5; i++) await operation(); // warm-up: JIT, plans, caches
        var latencies = new List<double>[workers];
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            var mine = latencies[w] = [];
            while (total.Elapsed < duration)
            {
                var t = Stopwatch.GetTimestamp();
                await operation();
                mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
        }));
        var seconds = total.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new LoadResult(name, all.Length, seconds, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
