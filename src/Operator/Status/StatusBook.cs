using System.Collections.Concurrent;
using AgentMeter.Operator.Machinery;

namespace AgentMeter.Operator.Status;

/// <summary>
/// The latest state the aggregator reported, by object key. The reconcilers are the only writers of CR status:
/// they merge this with their own conditions, so one server-side apply always carries the whole status.
/// </summary>
public sealed class StatusBook(StringPool strings)
{
    private readonly ConcurrentDictionary<string, AggregatorAlert> _alerts = new();
    private readonly ConcurrentDictionary<string, AggregatorBudget> _budgets = new();

    /// <summary>Null until the first successful read; then the error of the last failed read, or null.</summary>
    public string? AggregatorError { get; private set; } = "the aggregator has not been read yet";
    public RetentionResponse? Retention { get; private set; }

    public AggregatorAlert? Alert(string key) => _alerts.GetValueOrDefault(key);

    public AggregatorBudget? Budget(string key) => _budgets.GetValueOrDefault(key);

    /// <summary>Stores a fresh read of the budgets and returns the keys whose evaluation changed; unreported budgets are forgotten.</summary>
    public IReadOnlyList<string> UpdateBudgets(IReadOnlyCollection<AggregatorBudget> budgets)
    {
        var changed = new List<string>();
        var reported = budgets.Select(b => Machinery.ObjectKey.Of(b.Namespace, b.Name)).ToHashSet();
        foreach (var gone in _budgets.Keys.Where(k => !reported.Contains(k)).ToList())
        {
            _budgets.TryRemove(gone, out _);
            changed.Add(gone);
        }
        foreach (var budget in budgets)
        {
            var key = Machinery.ObjectKey.Of(budget.Namespace, budget.Name);
            var old = _budgets.GetValueOrDefault(key);
            if (old is not null && old.SameAs(budget)) continue;
            _budgets[key] = budget;
            changed.Add(key);
        }
        return changed;
    }

    /// <summary>
    /// Stores a fresh read and returns the keys whose state changed, with their old and new state. An alert the
    /// aggregator no longer reports is forgotten, so its last state is never shown again.
    /// </summary>
    public IReadOnlyList<(string Key, AggregatorAlert? Old, AggregatorAlert New)> UpdateAlerts(IReadOnlyCollection<AggregatorAlert> alerts)
    {
        var changed = new List<(string, AggregatorAlert?, AggregatorAlert)>();
        var reported = alerts.Select(a => ObjectKey.Of(a.Namespace, a.Name)).ToHashSet();
        foreach (var gone in _alerts.Keys.Where(k => !reported.Contains(k)).ToList()) _alerts.TryRemove(gone, out _);
        foreach (var alert in alerts)
        {
            var key = ObjectKey.Of(alert.Namespace, alert.Name);
            var old = _alerts.GetValueOrDefault(key);
            // An unchanged state keeps its stored record: the fresh copy of every alert, read each period, then dies
            // young instead of replacing 10,000 long-lived objects a second.
            if (old is not null && SameState(old, alert)) continue;
            _alerts[key] = Compact(alert);
            changed.Add((key, old, alert));
        }
        AggregatorError = null;
        return changed;
    }

    /// <summary>The strings thousands of records repeat (namespace, state, value, firing groups) as one shared copy.</summary>
    private AggregatorAlert Compact(AggregatorAlert alert)
    {
        alert.Namespace = strings.Intern(alert.Namespace);
        alert.State = strings.Intern(alert.State);
        alert.CurrentValue = strings.Intern(alert.CurrentValue);
        strings.InternAll(alert.FiringGroups);
        return alert;
    }

    public bool UpdateRetention(RetentionResponse retention)
    {
        var changed = Retention is null || Retention.NextRunTime != retention.NextRunTime ||
                      Retention.LastRun?.FinishedAt != retention.LastRun?.FinishedAt || Retention.LastRun?.Result != retention.LastRun?.Result;
        Retention = retention;
        return changed;
    }

    public bool Fail(string error)
    {
        var changed = AggregatorError != error;
        AggregatorError = error;
        return changed;
    }

    private static bool SameState(AggregatorAlert a, AggregatorAlert b) =>
        a.State == b.State && a.CurrentValue == b.CurrentValue && a.LastEvaluationTime == b.LastEvaluationTime &&
        a.LastFiredTime == b.LastFiredTime && a.Error == b.Error &&
        (a.FiringGroups ?? []).SequenceEqual(b.FiringGroups ?? []);
}
