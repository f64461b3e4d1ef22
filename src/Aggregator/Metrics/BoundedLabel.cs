using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

/// <summary>
/// Keeps one label of one metric to at most <c>max</c> distinct values: the first values seen are
/// admitted, any later new value is reported as <see cref="Other"/> and counted once in the folded
/// series counter. Agent, tool and user ids come from the outside, so without this bound a single
/// misbehaving gateway could blow up Prometheus.
/// </summary>
public sealed class BoundedLabel(int max, Counter.Child folded)
{
    public const string Other = "other";

    private readonly Admission _values = new(max);

    public string Apply(string? value)
    {
        value ??= "";
        if (_values.TryAdmit(value, out var first)) return value;
        if (first) folded.Inc();
        return Other;
    }
}
