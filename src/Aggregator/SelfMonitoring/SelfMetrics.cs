using Prometheus;

namespace AgentMeter.Aggregator.SelfMonitoring;

/// <summary>
/// Metrics of AgentMeter's own health (is it keeping up?), in the aggregator's one registry, for the
/// chart's self-monitoring PrometheusRule. Background jobs run on the replica holding their lock, so
/// their last-success gauges appear on that replica only (rules take the max over replicas).
/// </summary>
public sealed class SelfMetrics
{
    /// <summary>Sources of <c>agentmeter_ingest_events_total</c>.</summary>
    public const string Json = "json", Otlp = "otlp", Import = "import";

    /// <summary>Alert evaluation cycle buckets in seconds: 10 ms … 2 min.</summary>
    private static readonly double[] CycleBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

    private readonly CollectorRegistry _registry;
    private readonly Gauge _aggregationLastSuccess;
    private readonly Gauge _aggregationDuration;
    private readonly Histogram _evaluationDuration;
    private readonly Gauge _alertsLoaded;
    private readonly Gauge _outboxPending;
    private readonly Gauge _outboxOldestAge;
    private readonly Counter _ingestEvents;
    private readonly Gauge _retentionLastSuccess;

    public SelfMetrics(CollectorRegistry registry)
    {
        _registry = registry;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        // Absent until the first success on this replica: a 0 would read as "stale since 1970".
        var absentUntilSet = new GaugeConfiguration { SuppressInitialValue = true };
        _aggregationLastSuccess = f.CreateGauge("agentmeter_aggregation_last_success_timestamp_seconds",
            "Unix time the last aggregation pass finished with no failed day (on the replica that ran it).", absentUntilSet);
        _aggregationDuration = f.CreateGauge("agentmeter_aggregation_duration_seconds",
            "Seconds the last aggregation pass took (on the replica that ran it), failed days included.", absentUntilSet);
        _evaluationDuration = f.CreateHistogram("agentmeter_alert_evaluation_duration_seconds",
            "Seconds one alert evaluation cycle took: one observation per cycle, on the replica that evaluated.",
            new HistogramConfiguration { Buckets = CycleBuckets });
        _alertsLoaded = f.CreateGauge("agentmeter_alerts_loaded", "UsageAlerts this replica has loaded.");
        _outboxPending = f.CreateGauge("agentmeter_notification_outbox_pending",
            "Notifications (webhooks and mail) waiting in the outbox to be delivered or retried.");
        _outboxOldestAge = f.CreateGauge("agentmeter_notification_outbox_oldest_age_seconds",
            "Age of the oldest notification still waiting in the outbox; 0 when none waits.");
        _ingestEvents = f.CreateCounter("agentmeter_ingest_events_total",
            "Events received by source (json: POST /api/v1/events, otlp: OTLP spans, import: audit import) and result " +
            "(stored, duplicate: a known event_id, rejected: refused with a problem).", "source", "result");
        foreach (var source in new[] { Json, Otlp, Import })
        foreach (var result in new[] { "stored", "duplicate", "rejected" })
            _ingestEvents.WithLabels(source, result); // every series from the start, so rate() sees the first increase
        _retentionLastSuccess = f.CreateGauge("agentmeter_retention_last_success_timestamp_seconds",
            "Unix time the last retention pass succeeded (on the replica that ran it).", absentUntilSet);
    }

    public void AggregationPass(DateTimeOffset finished, TimeSpan duration, bool succeeded)
    {
        _aggregationDuration.Set(duration.TotalSeconds);
        if (succeeded) _aggregationLastSuccess.Set(finished.ToUnixTimeMilliseconds() / 1000.0);
    }

    public void AlertEvaluationCycle(TimeSpan duration) => _evaluationDuration.Observe(duration.TotalSeconds);

    public void RetentionSucceeded(DateTimeOffset finished) => _retentionLastSuccess.Set(finished.ToUnixTimeMilliseconds() / 1000.0);

    public void IngestEvents(string source, long stored = 0, long duplicates = 0, long rejected = 0)
    {
        if (stored > 0) _ingestEvents.WithLabels(source, "stored").Inc(stored);
        if (duplicates > 0) _ingestEvents.WithLabels(source, "duplicate").Inc(duplicates);
        if (rejected > 0) _ingestEvents.WithLabels(source, "rejected").Inc(rejected);
    }

    public void AlertsLoaded(int count) => _alertsLoaded.Set(count);

    public void OutboxBacklog(long pending, TimeSpan oldestAge)
    {
        _outboxPending.Set(pending);
        _outboxOldestAge.Set(Math.Max(0, oldestAge.TotalSeconds));
    }

    /// <summary>Runs before every scrape: for gauges read from the database or the loaded resources.</summary>
    public void BeforeScrape(Func<CancellationToken, Task> refresh) => _registry.AddBeforeCollectCallback(refresh);
}
