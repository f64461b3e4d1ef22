using AgentMeter.Aggregator.Webhooks;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>Last evaluation of an alert (a row of alert_evaluations).</summary>
public sealed record AlertEvaluationRow(string Namespace, string Name, DateTime EvaluatedAt, decimal? Value, string? Error);

/// <summary>Reads and writes alert state; a state change and the notifications it causes commit together.</summary>
public sealed class AlertStateStore(NpgsqlDataSource db)
{
    private sealed record StateRow(string Namespace, string Name, string GroupKey, string State, decimal? Value, DateTime Since,
        DateTime? LastFiredAt, bool Notified, string? FiringId)
    {
        public AlertGroupState ToState() => new(GroupKey, State, Value, Utc(Since), LastFiredAt is { } l ? Utc(l) : null, Notified, FiringId);
    }

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));

    private const string SelectStates =
        """
        SELECT namespace AS Namespace, name AS Name, group_key AS GroupKey, state AS State, value AS Value, since AS Since,
               last_fired_at AS LastFiredAt, notified AS Notified, firing_id AS FiringId
        FROM alert_states
        """;

    /// <summary>Every group state, by alert.</summary>
    public async Task<ILookup<(string Ns, string Name), AlertGroupState>> LoadAllAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var rows = await conn.QueryAsync<StateRow>(new CommandDefinition(SelectStates, cancellationToken: ct));
        return rows.ToLookup(r => (r.Namespace, r.Name), r => r.ToState());
    }

    public async Task<IReadOnlyDictionary<(string Ns, string Name), AlertEvaluationRow>> LoadEvaluationsAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var rows = await conn.QueryAsync<AlertEvaluationRow>(new CommandDefinition(
            "SELECT namespace AS Namespace, name AS Name, evaluated_at AS EvaluatedAt, value AS Value, error AS Error FROM alert_evaluations",
            cancellationToken: ct));
        return rows.ToDictionary(r => (r.Namespace, r.Name));
    }

    /// <summary>One evaluation of one alert, in one transaction: group states, their notifications, the evaluation row.</summary>
    public async Task SaveAsync(AlertDefinition alert, IReadOnlyList<(string Group, AlertTransition Transition)> transitions,
        decimal? value, string? error, DateTimeOffset now, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var keep = transitions.Where(t => t.Transition.Next is not null).Select(t => t.Transition.Next!).ToList();
        var drop = transitions.Where(t => t.Transition.Next is null).Select(t => t.Group).ToArray();
        if (keep.Count > 0)
            await conn.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO alert_states (namespace, name, group_key, state, value, since, last_fired_at, notified, firing_id, updated_at)
                SELECT @ns, @name, g, s, v, si, lf, n, f, @now
                FROM unnest(@groups, @states, @values, @sinces, @lastFired, @notified, @firingIds) AS x(g, s, v, si, lf, n, f)
                ON CONFLICT (namespace, name, group_key) DO UPDATE SET
                    state = excluded.state, value = excluded.value, since = excluded.since, last_fired_at = excluded.last_fired_at,
                    notified = excluded.notified, firing_id = excluded.firing_id, updated_at = excluded.updated_at
                """,
                new
                {
                    ns = alert.Namespace, name = alert.Name, now,
                    groups = keep.Select(s => s.Group).ToArray(),
                    states = keep.Select(s => s.State).ToArray(),
                    values = keep.Select(s => s.Value).ToArray(),
                    sinces = keep.Select(s => s.Since).ToArray(),
                    lastFired = keep.Select(s => s.LastFiredAt).ToArray(),
                    notified = keep.Select(s => s.Notified).ToArray(),
                    firingIds = keep.Select(s => s.FiringId).ToArray(),
                }, tx, cancellationToken: ct));
        if (drop.Length > 0)
            await conn.ExecuteAsync(new CommandDefinition(
                "DELETE FROM alert_states WHERE namespace = @ns AND name = @name AND group_key = ANY(@drop)",
                new { ns = alert.Namespace, name = alert.Name, drop }, tx, cancellationToken: ct));

        foreach (var (group, t) in transitions)
        {
            if (t.Notify is null || t.Next is null) continue;
            var n = new AlertNotification
            {
                EventType = t.Notify, Namespace = alert.Namespace, Alert = alert.Name, Group = group, GroupBy = alert.GroupBy,
                Metric = alert.Metric, Threshold = alert.Resource.Spec.Threshold?.Text ?? "", Window = alert.Resource.Spec.Window,
                Severity = alert.Resource.Spec.Severity, Value = t.Next.Value is { } v ? AlertCalculator.Format(v) : null,
                Filter = alert.Resource.Spec.Filter,
                FiredAt = t.Notify == AlertNotification.Firing ? now : t.Next.LastFiredAt ?? now,
                ResolvedAt = t.Notify == AlertNotification.Resolved ? now : null, EvaluatedAt = now,
            };
            foreach (var hook in alert.Resource.Spec.Webhooks ?? [])
                await WebhookOutbox.EnqueueAsync(conn, tx, n, t.Next.FiringId ?? group, hook.Name, alert.TenantFor(group), now);
        }

        await conn.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO alert_evaluations (namespace, name, evaluated_at, value, error) VALUES (@ns, @name, @now, @value, @error)
            ON CONFLICT (namespace, name) DO UPDATE SET evaluated_at = excluded.evaluated_at, value = excluded.value, error = excluded.error
            """, new { ns = alert.Namespace, name = alert.Name, now, value, error }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }
}
