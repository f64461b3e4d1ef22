using Prometheus;

namespace AgentMeter.Operator.Machinery;

/// <summary>The operator's own metrics on <c>/metrics</c>: reconcile counts, durations, errors, queue depth, watch restarts.</summary>
public sealed class OperatorMetrics
{
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();
    public Counter Reconciles { get; }
    public Counter ReconcileErrors { get; }
    public Histogram ReconcileDuration { get; }
    public Gauge QueueDepth { get; }
    public Counter WatchRestarts { get; }
    public Counter Writes { get; }
    public Gauge IsLeader { get; }

    public OperatorMetrics()
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        Reconciles = factory.CreateCounter("agentmeter_operator_reconcile_total", "Reconciles by kind and result.", "kind", "result");
        ReconcileErrors = factory.CreateCounter("agentmeter_operator_reconcile_errors_total", "Reconciles that failed and were requeued.", "kind");
        ReconcileDuration = factory.CreateHistogram("agentmeter_operator_reconcile_duration_seconds", "Time of one reconcile.",
            new HistogramConfiguration { LabelNames = ["kind"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
        QueueDepth = factory.CreateGauge("agentmeter_operator_workqueue_depth", "Keys waiting for a reconcile.");
        WatchRestarts = factory.CreateCounter("agentmeter_operator_watch_restarts_total", "Watches restarted, by kind and reason.", "kind", "reason");
        Writes = factory.CreateCounter("agentmeter_operator_writes_total", "Objects applied or deleted, by kind.", "kind", "verb");
        IsLeader = factory.CreateGauge("agentmeter_operator_leader", "1 while this replica holds the Lease.");
    }
}
