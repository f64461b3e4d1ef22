using System.Diagnostics;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Resources;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>
/// Evaluates every loaded UsageAlert every <c>Alerts__EvaluationInterval</c> on the one replica that
/// holds <see cref="AdvisoryLocks.AlertEvaluation"/>. Window data is loaded once per distinct window
/// length and cycle, then each alert is computed in memory; states, notifications and evaluations are
/// saved a batch of alerts per transaction.
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
            var previous = await states.LoadAllAsync(ct);
            var windows = new Dictionary<TimeSpan, WindowData>();
            var cache = new AlertWindowQueries.CycleCache();
            var batch = new List<AlertOutcome>(SaveBatch);
            foreach (var resource in alerts)
            {
                var ns = resource.Metadata.NamespaceProperty ?? "default";
                var definition = AlertDefinition.From(resource, out var invalid);
                if (definition is null)
                {
                    log.LogWarning("UsageAlert {Namespace}/{Name} cannot be evaluated: {Error}", ns, resource.Metadata.Name, invalid);
                    continue;
                }
                if (!windows.TryGetValue(definition.Window, out var data))
                    windows[definition.Window] = data = await queries.LoadAsync(now - definition.Window, now, cache, ct);
                batch.Add(Evaluate(definition, data, previous[(definition.Namespace, definition.Name)].ToList(), now));
                if (batch.Count == SaveBatch)
                {
                    await states.SaveAsync(batch, now, ct);
                    batch.Clear();
                }
            }
            await states.SaveAsync(batch, now, ct);
            activity?.SetTag("alerts.count", alerts.Count);
            return true;
        }
        finally
        {
            // A broken session has released its lock already; unlocking it would only hide the original error.
            if (conn.State == System.Data.ConnectionState.Open)
                await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.AlertEvaluation });
        }
    }

    private AlertOutcome Evaluate(AlertDefinition alert, WindowData data, IReadOnlyList<AlertGroupState> previous, DateTimeOffset now)
    {
        var values = AlertCalculator.Compute(alert, data);
        if (values.Error is { } error)
        {
            // State Unknown; group states are left as they are, so nothing resolves on an error.
            log.LogWarning("UsageAlert {Namespace}/{Name} cannot be evaluated: {Error}", alert.Namespace, alert.Name, error);
            return new AlertOutcome(alert, [], null, error);
        }
        var byGroup = previous.ToDictionary(s => s.Group);
        var transitions = new List<(string, AlertTransition)>();
        foreach (var group in values.Groups.Keys.Union(byGroup.Keys))
        {
            decimal? value = values.Groups.TryGetValue(group, out var v) ? v : null;
            var t = AlertStateMachine.Next(byGroup.GetValueOrDefault(group), group, value, alert.Threshold, alert.Cooldown, now,
                $"{alert.Namespace}/{alert.Name}");
            if (t.Notify is { } notify)
                log.LogInformation("UsageAlert {Namespace}/{Name} group \"{Group}\": {Event} (value {Value}, threshold {Threshold})",
                    alert.Namespace, alert.Name, group, notify, value, alert.Threshold);
            transitions.Add((group, t));
        }
        var max = values.Groups.Count == 0 ? (decimal?)null : values.Groups.Values.Max();
        return new AlertOutcome(alert, transitions, max, null);
    }
}

/// <summary>Runs <see cref="AlertEvaluator"/> on a timer once migrations ran.</summary>
public sealed class AlertEvaluationService(AlertEvaluator evaluator, MigrationState migrations, AlertOptions options, TimeProvider time,
    ILogger<AlertEvaluationService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(options.EvaluationInterval, time);
        do
        {
            try
            {
                await evaluator.EvaluateAllAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever went wrong, the next interval tries again: a failed cycle must not stop the service.
                log.LogError(e, "Alert evaluation failed, retrying at the next interval: {Message}", e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
