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
/// then each alert is computed in memory; evaluations, changed group states and the notifications they
/// cause are saved a batch of alerts per transaction. Nothing one alert meets stops the others: a window that
/// cannot be read, an alert or a group that cannot be computed, a batch that cannot be saved — the
/// alerts concerned get state Unknown with the error (groups that can be computed still are), the
/// rest are evaluated as usual.
/// </summary>
public sealed class AlertEvaluator(
    NpgsqlDataSource db, ResourceStore resources, AlertWindowQueries queries, AlertStateStore states, TimeProvider time,
    ILogger<AlertEvaluator> log)
{
    /// <summary>Traces one span per evaluation cycle.</summary>
    public const string ActivitySourceName = "AgentMeter.Alerts";
    private static readonly ActivitySource Activity = new(ActivitySourceName);

    /// <summary>Alerts saved per transaction: round trips stay few with a thousand alerts.</summary>
    private const int SaveBatch = 200;

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
            var alerts = resources.Current.UsageAlerts;
            var phases = new CyclePhases();
            var previous = await CyclePhases.TimeAsync(phases.States, () => states.LoadAllAsync(ct));
            var windows = new Dictionary<TimeSpan, Window>();
            var cache = new AlertWindowQueries.CycleCache();
            var batch = new List<AlertOutcome>(SaveBatch);
            foreach (var resource in alerts)
            {
                var ns = ResourceNamespace.Of(resource.Metadata);
                var definition = AlertDefinition.From(resource, out var invalid);
                if (definition is null)
                {
                    log.LogWarning("UsageAlert {Namespace}/{Name} cannot be evaluated: {Error}", ns, resource.Metadata.Name, invalid);
                    continue;
                }
                if (!windows.TryGetValue(definition.Window, out var window))
                    windows[definition.Window] = window = await CyclePhases.TimeAsync(phases.Windows, () => LoadWindowAsync(definition.Window, now, cache, ct));
                phases.Compute.Start();
                batch.Add(window.Data is { } data
                    ? Evaluate(definition, data, previous[(definition.Namespace, definition.Name)].ToList(), now)
                    : Unknown(definition, window.Error!));
                phases.Compute.Stop();
                if (batch.Count == SaveBatch)
                {
                    await CyclePhases.TimeAsync(phases.Save, async () => { await SaveAsync(batch, now, ct); return 0; });
                    batch.Clear();
                }
            }
            await CyclePhases.TimeAsync(phases.Save, async () => { await SaveAsync(batch, now, ct); return 0; });
            queries.EndCycle(cache);
            activity?.SetTag("alerts.count", alerts.Count);
            log.LogDebug("Alert cycle of {Count} alerts: states {States} ms, windows {Windows} ms, compute {Compute} ms, save {Save} ms",
                alerts.Count, phases.States.ElapsedMilliseconds, phases.Windows.ElapsedMilliseconds, phases.Compute.ElapsedMilliseconds,
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
    /// Saves a batch in one transaction; if that fails, each alert alone, and an alert whose own save
    /// fails gets just its evaluation row with the error (no state change, so nothing is notified).
    /// </summary>
    private async Task SaveAsync(IReadOnlyList<AlertOutcome> batch, DateTimeOffset now, CancellationToken ct)
    {
        try
        {
            await states.SaveAsync(batch, now, ct);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException && batch.Count > 1)
        {
            log.LogWarning("Saving {Count} alert evaluations together failed ({Message}); saving each alone", batch.Count, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await SaveErrorAsync(batch[0], e, now, ct);
            return;
        }
        foreach (var outcome in batch)
        {
            try
            {
                await states.SaveAsync([outcome], now, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await SaveErrorAsync(outcome, e, now, ct);
            }
        }
    }

    private async Task SaveErrorAsync(AlertOutcome outcome, Exception e, DateTimeOffset now, CancellationToken ct)
    {
        log.LogError(e, "UsageAlert {Namespace}/{Name}: the evaluation could not be saved: {Message}", outcome.Alert.Namespace, outcome.Alert.Name, e.Message);
        try
        {
            await states.SaveAsync([Unknown(outcome.Alert, $"the evaluation could not be saved: {e.Message}")], now, ct);
        }
        catch (Exception again) when (again is not OperationCanceledException)
        {
            log.LogError(again, "UsageAlert {Namespace}/{Name}: not even the error could be saved; the last evaluation stays", outcome.Alert.Namespace, outcome.Alert.Name);
        }
    }

    /// <summary>State Unknown; group states are left as they are, so nothing resolves on an error.</summary>
    private AlertOutcome Unknown(AlertDefinition alert, string error)
    {
        log.LogWarning("UsageAlert {Namespace}/{Name} cannot be evaluated: {Error}", alert.Namespace, alert.Name, error);
        return new AlertOutcome(alert, [], null, error);
    }

    private AlertOutcome Evaluate(AlertDefinition alert, WindowData data, IReadOnlyList<AlertGroupState> previous, DateTimeOffset now)
    {
        AlertValues values;
        try
        {
            values = AlertCalculator.Compute(alert, data);
        }
        catch (Exception e) when (e is ArithmeticException or InvalidOperationException)
        {
            return Unknown(alert, $"the value could not be computed: {e.Message}");
        }
        if (values.Error is { } error) return Unknown(alert, error);
        // A group that cannot be computed keeps its state (nothing resolves on an error); the others go on.
        var failed = values.GroupErrors ?? new Dictionary<string, string>();
        var byGroup = previous.ToDictionary(s => s.Group);
        var transitions = new List<(string, AlertTransition)>();
        foreach (var group in values.Groups.Keys.Union(byGroup.Keys).Where(g => !failed.ContainsKey(g)))
        {
            decimal? value = values.Groups.TryGetValue(group, out var v) ? v : null;
            var previousState = byGroup.GetValueOrDefault(group);
            var t = AlertStateMachine.Next(previousState, group, value, alert.Threshold, alert.Cooldown, now,
                $"{alert.Namespace}/{alert.Name}");
            // Only changes are written: with thousands of alerts most groups stay as they were.
            if (t.Next == previousState && t.Notify is null) continue;
            if (t.Notify is { } notify)
                log.LogInformation("UsageAlert {Namespace}/{Name} group \"{Group}\": {Event} (value {Value}, threshold {Threshold})",
                    alert.Namespace, alert.Name, group, notify, value, alert.Threshold);
            transitions.Add((group, t));
        }
        var max = values.Groups.Count == 0 ? (decimal?)null : values.Groups.Values.Max();
        if (failed.Count == 0) return new AlertOutcome(alert, transitions, max, null);
        var groupError = string.Join("; ", failed.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Value));
        log.LogWarning("UsageAlert {Namespace}/{Name}: {Count} group(s) cannot be evaluated: {Error}", alert.Namespace, alert.Name, failed.Count, groupError);
        return new AlertOutcome(alert, transitions, max, groupError);
    }
}
