using System.Buffers;
using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Webhooks;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>
/// Last evaluation of an alert (a row of alert_evaluations) with the current value of each of its
/// groups (null for rows older than migration 0820).
/// </summary>
public sealed record AlertEvaluationRow(string Namespace, string Name, DateTime EvaluatedAt, decimal? Value, string? Error,
    IReadOnlyDictionary<string, decimal?>? Groups)
{
    /// <summary>A group's current value: alert_states holds only the value at its last state change.</summary>
    public decimal? ValueOf(AlertGroupState group) =>
        Groups is not null && Groups.TryGetValue(group.Group, out var value) ? value : group.Value;
}

/// <summary>
/// Reads and writes alert state; a state change and the notifications it causes commit together.
/// Group states are written only when they change beyond their value; current values go with the
/// alert's evaluation row.
/// </summary>
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

    /// <summary>
    /// Changes whenever a row of alert_states is written or deleted (by this replica, another one or by
    /// hand): the newest row version and the row count.
    /// </summary>
    public async Task<(long Rows, long NewestVersion)> VersionAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.QuerySingleAsync<(long, long)>(new CommandDefinition(
            "SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM alert_states", cancellationToken: ct));
    }

    private sealed record EvaluationRow(string Namespace, string Name, DateTime EvaluatedAt, decimal? Value, string? Error, string? Groups);

    public async Task<IReadOnlyDictionary<(string Ns, string Name), AlertEvaluationRow>> LoadEvaluationsAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var rows = await conn.QueryAsync<EvaluationRow>(new CommandDefinition(
            """
            SELECT namespace AS Namespace, name AS Name, evaluated_at AS EvaluatedAt, value AS Value, error AS Error, groups::text AS Groups
            FROM alert_evaluations
            """,
            cancellationToken: ct));
        return rows.ToDictionary(r => (r.Namespace, r.Name), r => new AlertEvaluationRow(r.Namespace, r.Name, r.EvaluatedAt, r.Value, r.Error,
            r.Groups is null ? null : JsonSerializer.Deserialize<Dictionary<string, decimal?>>(r.Groups)));
    }

    /// <summary>
    /// Evaluation rows in one statement: time, largest value, error and every group's
    /// current value.
    /// </summary>
    public async Task SaveEvaluationsAsync(IReadOnlyList<AlertEvaluation> evaluations, DateTimeOffset now, CancellationToken ct)
    {
        if (evaluations.Count == 0) return;
        await using var conn = await db.OpenConnectionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO alert_evaluations (namespace, name, evaluated_at, value, error, groups)
            SELECT ns, n, @now, v, e, g::jsonb FROM unnest(@namespaces, @names, @values, @errors, @groups) AS x(ns, n, v, e, g)
            ON CONFLICT (namespace, name) DO UPDATE SET evaluated_at = excluded.evaluated_at, value = excluded.value, error = excluded.error,
                groups = excluded.groups
            """,
            new
            {
                now,
                namespaces = evaluations.Select(e => e.Alert.Namespace).ToArray(), names = evaluations.Select(e => e.Alert.Name).ToArray(),
                values = evaluations.Select(e => e.Value).ToArray(), errors = evaluations.Select(e => e.Error).ToArray(),
                groups = GroupsJson(evaluations),
            }, cancellationToken: ct));
    }

    /// <summary>Each evaluation's groups as {"group": current value | null}, through one reused buffer (10,000 alerts a cycle).</summary>
    private static string[] GroupsJson(IReadOnlyList<AlertEvaluation> evaluations)
    {
        var texts = new string[evaluations.Count];
        var buffer = new ArrayBufferWriter<byte>();
        using var json = new Utf8JsonWriter(buffer);
        for (var i = 0; i < texts.Length; i++)
        {
            buffer.ResetWrittenCount();
            json.Reset();
            json.WriteStartObject();
            foreach (var (group, state) in evaluations[i].Groups)
                if (evaluations[i].CurrentValue(group, state) is { } value) json.WriteNumber(group, value);
                else json.WriteNull(group);
            json.WriteEndObject();
            json.Flush();
            texts[i] = Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        return texts;
    }

    /// <summary>
    /// The state changes of several alerts in one transaction, with the notifications they cause — so a
    /// notification is queued exactly when its state change commits.
    /// </summary>
    public async Task SaveAsync(IReadOnlyList<AlertOutcome> outcomes, DateTimeOffset now, CancellationToken ct)
    {
        if (outcomes.Count == 0) return;
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var keep = outcomes.SelectMany(o => o.Transitions.Where(t => t.Transition.Next is not null).Select(t => (o.Alert, State: t.Transition.Next!))).ToList();
        if (keep.Count > 0)
            await conn.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO alert_states (namespace, name, group_key, state, value, since, last_fired_at, notified, firing_id, updated_at)
                SELECT ns, n, g, s, v, si, lf, nt, f, @now
                FROM unnest(@namespaces, @names, @groups, @states, @values, @sinces, @lastFired, @notified, @firingIds) AS x(ns, n, g, s, v, si, lf, nt, f)
                ON CONFLICT (namespace, name, group_key) DO UPDATE SET
                    state = excluded.state, value = excluded.value, since = excluded.since, last_fired_at = excluded.last_fired_at,
                    notified = excluded.notified, firing_id = excluded.firing_id, updated_at = excluded.updated_at
                """,
                new
                {
                    now,
                    namespaces = keep.Select(k => k.Alert.Namespace).ToArray(),
                    names = keep.Select(k => k.Alert.Name).ToArray(),
                    groups = keep.Select(k => k.State.Group).ToArray(),
                    states = keep.Select(k => k.State.State).ToArray(),
                    values = keep.Select(k => k.State.Value).ToArray(),
                    sinces = keep.Select(k => k.State.Since).ToArray(),
                    lastFired = keep.Select(k => k.State.LastFiredAt).ToArray(),
                    notified = keep.Select(k => k.State.Notified).ToArray(),
                    firingIds = keep.Select(k => k.State.FiringId).ToArray(),
                }, tx, cancellationToken: ct));
        var drop = outcomes.SelectMany(o => o.Transitions.Where(t => t.Transition.Next is null).Select(t => (o.Alert, t.Group))).ToList();
        if (drop.Count > 0)
            await conn.ExecuteAsync(new CommandDefinition(
                """
                DELETE FROM alert_states s USING unnest(@namespaces, @names, @groups) AS d(ns, n, g)
                WHERE s.namespace = d.ns AND s.name = d.n AND s.group_key = d.g
                """,
                new
                {
                    namespaces = drop.Select(d => d.Alert.Namespace).ToArray(), names = drop.Select(d => d.Alert.Name).ToArray(),
                    groups = drop.Select(d => d.Group).ToArray(),
                }, tx, cancellationToken: ct));

        foreach (var outcome in outcomes)
        foreach (var (group, t) in outcome.Transitions)
        {
            if (t.Notify is null || t.Next is null) continue;
            var alert = outcome.Alert;
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
            if (alert.Resource.Spec.Email is not null)
                await WebhookOutbox.EnqueueMailAsync(conn, tx, n, t.Next.FiringId ?? group, alert.TenantFor(group), now);
        }

        await tx.CommitAsync(ct);
    }
}

/// <summary>
/// The result of evaluating one alert: the state changes to write (a change of value alone is not one),
/// every group's state after it, the values computed (null when none could be), the largest value, or the error.
/// </summary>
public sealed record AlertOutcome(AlertDefinition Alert, IReadOnlyList<(string Group, AlertTransition Transition)> Transitions,
    IReadOnlyDictionary<string, AlertGroupState> Groups, AlertValues? Values, decimal? Value, string? Error);

/// <summary>
/// An alert's evaluation row: the largest value or the error, its groups' states and the values computed
/// this cycle (null when none could be).
/// </summary>
public sealed record AlertEvaluation(AlertDefinition Alert, decimal? Value, string? Error, IReadOnlyDictionary<string, AlertGroupState> Groups,
    AlertValues? Values)
{
    /// <summary>
    /// A group's current value: the one computed this cycle; a group that could not be computed (or any
    /// group, when the alert could not be) keeps the value of its last state change; a group without data has none.
    /// </summary>
    public decimal? CurrentValue(string group, AlertGroupState state) =>
        Values is null || (Values.GroupErrors?.ContainsKey(group) ?? false) ? state.Value
        : Values.Groups.TryGetValue(group, out var v) ? v : null;
}
