using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.SelfMonitoring;
using AgentMeter.Entities.Serialization;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>
/// Runs <see cref="AlertEvaluator"/> every <c>Alerts__EvaluationInterval</c> once migrations ran, and
/// within a second of a reload that created, changed or deleted a UsageAlert (reloads that change only
/// other kinds wait for the interval).
/// </summary>
public sealed class AlertEvaluationService : RecurringJob
{
    private readonly AlertEvaluator _evaluator;
    private readonly ResourceStore _resources;
    private readonly AlertOptions _options;
    private readonly SelfMetrics _self;
    private readonly Lock _gate = new();
    private string _alerts;

    public AlertEvaluationService(AlertEvaluator evaluator, ResourceStore resources, MigrationState migrations, AlertOptions options, SelfMetrics self,
        TimeProvider time, ILogger<AlertEvaluationService> log) : base(migrations, time, log)
    {
        (_evaluator, _resources, _options, _self) = (evaluator, resources, options, self);
        _alerts = Fingerprint(resources.Current);
        resources.Changed += OnChanged;
    }

    protected override TimeSpan Interval => _options.EvaluationInterval;
    protected override string Name => "Alert evaluation";

    protected override async Task RunOnceAsync(CancellationToken ct)
    {
        var ticks = Time.GetTimestamp();
        // One observation per cycle this replica ran (one with failing alerts too: its time counts), none when another holds the lock.
        if (await _evaluator.EvaluateAllAsync(ct)) _self.AlertEvaluationCycle(Time.GetElapsedTime(ticks));
    }

    private void OnChanged(ResourceSet set)
    {
        var alerts = Fingerprint(set);
        lock (_gate)
        {
            if (alerts == _alerts) return;
            _alerts = alerts;
        }
        Wake();
    }

    /// <summary>The alerts in force as text (spec and identity, not status): equal exactly when no alert was created, changed or deleted.</summary>
    private static string Fingerprint(ResourceSet set) =>
        string.Join('\n', set.UsageAlerts.Select(a => $"{a.Metadata.NamespaceProperty}/{a.Metadata.Name} {ResourceDocuments.ToJson(a.Spec).ToJsonString()}"));

    public override void Dispose()
    {
        _resources.Changed -= OnChanged;
        base.Dispose();
    }
}
