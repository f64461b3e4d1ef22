using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// The series of one tool on one MCP server. Each Prometheus child is resolved on first use, so a tool
/// that never failed (or never reported a latency) shows no empty series, as before this cache existed.
/// </summary>
public sealed class ToolSeries(RegistryMetrics metrics, string? tool, string? server)
{
    private Counter.Child? _successes, _failures;
    private Histogram.Child? _durations;

    public void Count(bool failed)
    {
        if (failed) (_failures ??= metrics.ToolCallsChild(tool, server, "failure")).Inc();
        else (_successes ??= metrics.ToolCallsChild(tool, server, "success")).Inc();
    }

    public void ObserveDuration(double seconds) => (_durations ??= metrics.ToolCallDurationChild(tool, server)).Observe(seconds);
}
