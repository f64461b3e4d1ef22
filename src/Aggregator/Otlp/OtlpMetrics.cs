using AgentMeter.Aggregator.Metrics;
using Prometheus;

namespace AgentMeter.Aggregator.Otlp;

/// <summary><c>agentmeter_otlp_spans_total{result}</c>: what became of every span received, in the aggregator's registry.</summary>
public sealed class OtlpMetrics
{
    private readonly Counter.Child _stored;
    private readonly Counter.Child _skipped;
    private readonly Counter.Child _rejected;

    public OtlpMetrics(RegistryMetrics metrics)
    {
        var spans = Prometheus.Metrics.WithCustomRegistry(metrics.Registry).CreateCounter("agentmeter_otlp_spans_total",
            "OTLP spans received: stored (a tool or model call, re-exports included), skipped (neither) or rejected (a tool or model call lacking what its event needs).",
            "result");
        _stored = spans.WithLabels("stored");
        _skipped = spans.WithLabels("skipped");
        _rejected = spans.WithLabels("rejected");
    }

    public void Count(int stored, int skipped, int rejected)
    {
        _stored.Inc(stored);
        _skipped.Inc(skipped);
        _rejected.Inc(rejected);
    }
}
