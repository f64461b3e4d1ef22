using System.Diagnostics;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Resources;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>
/// Evaluates every loaded UsageAlert every <c>Alerts__EvaluationInterval</c> on the one replica that
/// holds <see cref="AdvisoryLocks.AlertEvaluation"/>. Window data is loaded once per distinct window
/// length and cycle (raw events from the segments <see cref="AlertWindowQueries"/> keeps across cycles),
/// and the group values once per alert shape (window, metric, groupBy, filter); each alert then only
/// compares them with its threshold and its groups' states. Group states are kept in memory between
/// cycles (read again whenever alert_states changed behind this evaluator's back); only real state
/// changes are written, with the notifications they cause, a batch of alerts per transaction, and all
/// evaluation rows (with every group's current value) a thousand per statement. Nothing one alert meets stops
/// the others: a window that cannot be read, an alert or a group that cannot be computed, a batch that
/// cannot be saved — the alerts concerned get state Unknown with the error (groups that can be computed
/// still are), the rest are evaluated as usual.
/// </summary>
public sealed class AlertEvaluator(
    NpgsqlDataSource db, ResourceStore resources, AlertWindowQueries queries, AlertStateStore states, TimeProvider time,
    ILogger<AlertEvaluator> log)
{
    /// <summary>Traces one span per evaluation cycle.</summary>
    public const string ActivitySourceName = "AgentMeter.Alerts";
    private static readonly ActivitySource Activity = new(ActivitySourceName);

    /// <summary>Alerts whose state changes are saved per transaction: round trips stay few when many change at once.</summary>
    private const int SaveBatch = 200;

    /// <summary>
    /// Evaluation rows written per statement: few round trips, and parameter arrays small enough to stay
    /// off the large object heap (whose growth the process's memory would show).
    /// </summary>
    private const int EvaluationRowsPerStatement = 1000;

    private static readonly IReadOnlyDictionary<string, AlertGroupState> NoGroups = new Dictionary<string, AlertGroupState>();

    private ResourceSet? _definitionsOf;
    private IReadOnlyList<(UsageAlert Resource, AlertDefinition? Definition, string Invalid)> _definitions = [];

    /// <summary>Group states as alert_states holds them, by alert; null until read.</summary>
    private Dictionary<(string Ns, string Name), IReadOnlyDictionary<string, AlertGroupState>>? _groups;

    /// <summary><see cref="AlertStateStore.VersionAsync"/> when <see cref="_groups"/> last matched the table.</summary>
    private (long, long)? _version;

    /// <summary>Where a cycle's time goes, logged at Debug.</summary>
    private sealed class CyclePhases
    {
        public readonly Stopwatch States = new(), Windows = new(), Compute = new(), Save = new();

        public static async Task<T> TimeAsync<T>(Stopwatch phase, Func<Task<T>> work)
        {
            phase.Start();
            try { return await work(); }
            finally { phase.Stop(); }
        }

        public static async Task TimeAsync(Stopwatch phase, Func<Task> work)
        {
            phase.Start();
            try { await work(); }
            finally { phase.Stop(); }
        }
    }

    /// <summary>A window's data, or why it could not be read.</summary>
    private sealed record Window(WindowData? Data, string? Error);

    /// <summary>One cycle; false when another replica holds the lock.</summary>
    public async Task<bool> EvaluateAllAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        if (!await conn.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_lock(@k)", new { k = AdvisoryLocks.AlertEvaluation }))
            return false;
        try
        {
            using var activity = Activity.StartActivity("alerts.evaluate");
            var now = time.GetUtcNow();
            var alerts = Definitions(resources.Current);
            var phases = new CyclePhases();
            var groups = await CyclePhases.TimeAsync(phases.States, () => CurrentGroupsAsync(ct));
            var windows = new Dictionary<TimeSpan, Window>();
            var shapes = new Dictionary<string, AlertValues>();
            var cache = new AlertWindowQueries.CycleCache();
            var evaluations = new List<AlertEvaluation>(alerts.Count);
            var batch = new List<AlertOutcome>(SaveBatch);
            foreach (var (resource, definition, invalid) in alerts)
            {
                if (definition is null)
                {
                    log.LogWarning("UsageAlert {Namespace}/{Name} cannot be evaluated: {Error}", ResourceNamespace.Of(resource.Metadata),
                        resource.Metadata.Name, invalid);
                    continue;
                }
                if (!windows.TryGetValue(definition.Window, out var window))
                    windows[definition.Window] = window = await CyclePhases.TimeAsync(phases.Windows, () => LoadWindowAsync(definition.Window, now, cache, ct));
                phases.Compute.Start();
                var previous = groups.GetValueOrDefault((definition.Namespace, definition.Name)) ?? NoGroups;
                var outcome = window.Data is { } data
                    ? Evaluate(definition, ValuesOf(definition, data, shapes), previous, now)
                    : Unknown(definition, previous, window.Error!);
                phases.Compute.Stop();
                if (outcome.Transitions.Count == 0)
                {
                    groups[(definition.Namespace, definition.Name)] = outcome.Groups;
                    evaluations.Add(new AlertEvaluation(definition, outcome.Value, outcome.Error, outcome.Groups, outcome.Values));
                    continue;
                }
                batch.Add(outcome);
                if (batch.Count == SaveBatch)
                {
                    await CyclePhases.TimeAsync(phases.Save, () => SaveAsync(batch, groups, evaluations, now, ct));
                    batch.Clear();
                }
            }
            await CyclePhases.TimeAsync(phases.Save, () => SaveAsync(batch, groups, evaluations, now, ct));
            foreach (var chunk in evaluations.Chunk(EvaluationRowsPerStatement))
                await CyclePhases.TimeAsync(phases.Save, () => SaveEvaluationsAsync(chunk, now, ct));
            if (_version is not null) _version = await states.VersionAsync(ct);
            queries.EndCycle(cache);
            activity?.SetTag("alerts.count", alerts.Count);
            log.LogDebug("Alert cycle of {Count} alerts ({Shapes} shapes): states {States} ms, windows {Windows} ms, compute {Compute} ms, save {Save} ms",
                alerts.Count, shapes.Count, phases.States.ElapsedMilliseconds, phases.Windows.ElapsedMilliseconds, phases.Compute.ElapsedMilliseconds,
                phases.Save.ElapsedMilliseconds);
            return true;
        }
        finally
        {
            // A broken session has released its lock already; unlocking it would only hide the original error.
            if (conn.State == System.Data.ConnectionState.Open)
                await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.AlertEvaluation });
        }
    }

    /// <summary>The alerts of a resource set, parsed once per set (not every cycle: parsing durations allocates).</summary>
    private IReadOnlyList<(UsageAlert Resource, AlertDefinition? Definition, string Invalid)> Definitions(ResourceSet set)
    {
        if (!ReferenceEquals(set, _definitionsOf))
        {
            _definitions = set.UsageAlerts.Select(r => (r, AlertDefinition.From(r, out var invalid), invalid)).ToList();
            _definitionsOf = set;
        }
        return _definitions;
    }

    /// <summary>
    /// The group states of the last cycle, read again from alert_states when the table changed since
    /// (another replica evaluated, or it was edited) or a save failed.
    /// </summary>
    private async Task<Dictionary<(string Ns, string Name), IReadOnlyDictionary<string, AlertGroupState>>> CurrentGroupsAsync(CancellationToken ct)
    {
        var version = await states.VersionAsync(ct);
        if (_groups is not null && version == _version) return _groups;
        var loaded = await states.LoadAllAsync(ct);
        _groups = loaded.ToDictionary(g => g.Key, IReadOnlyDictionary<string, AlertGroupState> (g) => g.ToDictionary(s => s.Group));
        _version = version;
        return _groups;
    }

    /// <summary>The group values of the alert's shape, computed once per cycle for every alert of that shape.</summary>
    private static AlertValues ValuesOf(AlertDefinition alert, WindowData data, Dictionary<string, AlertValues> shapes)
    {
        var shape = alert.Shape;
        if (shapes.TryGetValue(shape, out var values)) return values;
        try
        {
            values = AlertCalculator.Compute(alert, data);
        }
        catch (Exception e) when (e is ArithmeticException or InvalidOperationException)
        {
            values = AlertValues.Failed($"the value could not be computed: {e.Message}");
        }
        return shapes[shape] = values;
    }

    private async Task<Window> LoadWindowAsync(TimeSpan length, DateTimeOffset now, AlertWindowQueries.CycleCache cache, CancellationToken ct)
    {
        try
        {
            return new Window(await queries.LoadAsync(now - length, now, cache, ct), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "Alert window {Window} could not be read: {Message}; the alerts with this window are Unknown this cycle", length, e.Message);
            return new Window(null, $"the data of the {length} window could not be read: {e.Message}");
        }
    }

    /// <summary>
    /// Saves a batch of state changes in one transaction; if that fails, each alert alone, and an alert
    /// whose own save fails keeps its states and gets the error (so nothing is notified). Saved states
    /// become the ones kept in memory; after a failure they are read again next cycle.
    /// </summary>
    private async Task SaveAsync(IReadOnlyList<AlertOutcome> batch, Dictionary<(string Ns, string Name), IReadOnlyDictionary<string, AlertGroupState>> groups,
        List<AlertEvaluation> evaluations, DateTimeOffset now, CancellationToken ct)
    {
        if (batch.Count == 0) return;
        try
        {
            await states.SaveAsync(batch, now, ct);
            foreach (var outcome in batch) Saved(outcome, groups, evaluations);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException && batch.Count > 1)
        {
            log.LogWarning("Saving {Count} alert evaluations together failed ({Message}); saving each alone", batch.Count, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            NotSaved(batch[0], e, groups, evaluations);
            return;
        }
        foreach (var outcome in batch)
        {
            try
            {
                await states.SaveAsync([outcome], now, ct);
                Saved(outcome, groups, evaluations);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                NotSaved(outcome, e, groups, evaluations);
            }
        }
    }

    private static void Saved(AlertOutcome outcome, Dictionary<(string Ns, string Name), IReadOnlyDictionary<string, AlertGroupState>> groups,
        List<AlertEvaluation> evaluations)
    {
        groups[(outcome.Alert.Namespace, outcome.Alert.Name)] = outcome.Groups;
        evaluations.Add(new AlertEvaluation(outcome.Alert, outcome.Value, outcome.Error, outcome.Groups, outcome.Values));
    }

    private void NotSaved(AlertOutcome outcome, Exception e, Dictionary<(string Ns, string Name), IReadOnlyDictionary<string, AlertGroupState>> groups,
        List<AlertEvaluation> evaluations)
    {
        var alert = outcome.Alert;
        log.LogError(e, "UsageAlert {Namespace}/{Name}: the evaluation could not be saved: {Message}", alert.Namespace, alert.Name, e.Message);
        // What the table holds for this alert is uncertain now: read it again next cycle.
        _version = null;
        evaluations.Add(new AlertEvaluation(alert, null, $"the evaluation could not be saved: {e.Message}",
            groups.GetValueOrDefault((alert.Namespace, alert.Name)) ?? NoGroups, null));
    }

    /// <summary>Evaluation rows in one statement; if that fails, each alone (one bad row never hides the others).</summary>
    private async Task SaveEvaluationsAsync(IReadOnlyList<AlertEvaluation> evaluations, DateTimeOffset now, CancellationToken ct)
    {
        try
        {
            await states.SaveEvaluationsAsync(evaluations, now, ct);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException && evaluations.Count > 1)
        {
            log.LogWarning("Saving {Count} alert evaluation rows together failed ({Message}); saving each alone", evaluations.Count, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "UsageAlert {Namespace}/{Name}: the evaluation row could not be saved: {Message}", evaluations[0].Alert.Namespace,
                evaluations[0].Alert.Name, e.Message);
            return;
        }
        foreach (var evaluation in evaluations)
        {
            try
            {
                await states.SaveEvaluationsAsync([evaluation], now, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "UsageAlert {Namespace}/{Name}: the evaluation row could not be saved; the last one stays: {Message}",
                    evaluation.Alert.Namespace, evaluation.Alert.Name, e.Message);
            }
        }
    }

    /// <summary>State Unknown; group states are left as they are, so nothing resolves on an error.</summary>
    private AlertOutcome Unknown(AlertDefinition alert, IReadOnlyDictionary<string, AlertGroupState> previous, string error)
    {
        log.LogWarning("UsageAlert {Namespace}/{Name} cannot be evaluated: {Error}", alert.Namespace, alert.Name, error);
        return new AlertOutcome(alert, [], previous, null, null, error);
    }

    private AlertOutcome Evaluate(AlertDefinition alert, AlertValues values, IReadOnlyDictionary<string, AlertGroupState> previous, DateTimeOffset now)
    {
        if (values.Error is { } error) return Unknown(alert, previous, error);
        // A group that cannot be computed keeps its state (nothing resolves on an error); the others go on.
        var failed = values.GroupErrors ?? NoErrors;
        var firingIdPrefix = $"{alert.Namespace}/{alert.Name}";
        var transitions = new List<(string, AlertTransition)>();
        // The groups with a value, then those remembered without one.
        foreach (var (group, value) in values.Groups) Next(group, value);
        foreach (var group in previous.Keys)
            if (!values.Groups.ContainsKey(group)) Next(group, null);

        void Next(string group, decimal? value)
        {
            if (failed.ContainsKey(group)) return;
            var previousState = previous.GetValueOrDefault(group);
            var t = AlertStateMachine.Next(previousState, group, value, alert.Threshold, alert.Cooldown, now, firingIdPrefix);
            // Only state changes are written: with live traffic every value changes every cycle, states seldom do.
            if (ReferenceEquals(t.Next, previousState) && t.Notify is null) return;
            if (t.Notify is { } notify)
                log.LogInformation("UsageAlert {Namespace}/{Name} group \"{Group}\": {Event} (value {Value}, threshold {Threshold})",
                    alert.Namespace, alert.Name, group, notify, value, alert.Threshold);
            transitions.Add((group, t));
        }
        var next = previous;
        if (transitions.Count > 0)
        {
            var changed = new Dictionary<string, AlertGroupState>(previous);
            foreach (var (group, t) in transitions)
                if (t.Next is null) changed.Remove(group);
                else changed[group] = t.Next;
            next = changed;
        }
        var max = values.Groups.Count == 0 ? (decimal?)null : values.Groups.Values.Max();
        if (failed.Count == 0) return new AlertOutcome(alert, transitions, next, values, max, null);
        var groupError = string.Join("; ", failed.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Value));
        log.LogWarning("UsageAlert {Namespace}/{Name}: {Count} group(s) cannot be evaluated: {Error}", alert.Namespace, alert.Name, failed.Count, groupError);
        return new AlertOutcome(alert, transitions, next, values, max, groupError);
    }

    private static readonly IReadOnlyDictionary<string, string> NoErrors = new Dictionary<string, string>();
}
