using System.Data;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>A pending notification to one webhook, or the mail of a notification (<see cref="Channel"/>).</summary>
public sealed record OutboxItem(
    long Id, string IdempotencyKey, string Namespace, string AlertName, string WebhookName, string GroupKey,
    string EventType, string? TenantId, string Payload, int Attempts, string ResourceKind, string Channel)
{
    public AlertNotification Notification => JsonSerializer.Deserialize<AlertNotification>(Payload, AlertNotification.Json)!;
}

/// <summary>One row to enqueue: who it is from (kind, namespace, name), to which webhook (or the mail), and the facts as JSON.</summary>
public sealed record OutboxEntry(
    string Key, string Kind, string Namespace, string Name, string Webhook, string Group, string EventType, string? TenantId, string Payload,
    string Channel = INotificationChannel.Webhook)
{
    /// <summary>
    /// The one mail of a notification (a notification from <paramref name="occasion"/> of <paramref name="eventType"/>) to the
    /// resource's <c>spec.email</c>. Its key can never be a webhook's: webhook names have no colon.
    /// </summary>
    public static OutboxEntry Mail(string occasion, string kind, string ns, string name, string group, string eventType, string? tenantId,
        string payload) =>
        new(WebhookOutbox.IdempotencyKey(occasion, eventType, "channel:email"), kind, ns, name, INotificationChannel.Email, group, eventType,
            tenantId, payload, INotificationChannel.Email);
}

/// <summary>The durable outbox: written with the state change that causes a notification, drained by the dispatcher.</summary>
public sealed class WebhookOutbox(NpgsqlDataSource db)
{
    /// <summary>
    /// Stable across retries and restarts: derived from the firing (its id and event type) and the
    /// webhook, so a receiver deduplicates on it and a second enqueue of the same notification is a no-op.
    /// </summary>
    public static string IdempotencyKey(string firingId, string eventType, string webhook) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{firingId}\n{eventType}\n{webhook}")))[..32];

    /// <summary>Enqueues inside the caller's transaction (the alert state change).</summary>
    public static Task EnqueueAsync(IDbConnection conn, IDbTransaction tx, AlertNotification n, string firingId, string webhook,
        string? tenantId, DateTimeOffset now) =>
        EnqueueAsync(conn, tx, new OutboxEntry(IdempotencyKey(firingId, n.EventType, webhook), Entities.Resources.UsageAlert.KindName,
            n.Namespace, n.Alert, webhook, n.Group, n.EventType, tenantId, JsonSerializer.Serialize(n, AlertNotification.Json)), now);

    /// <summary>Enqueues the mail of an alert notification inside the caller's transaction.</summary>
    public static Task EnqueueMailAsync(IDbConnection conn, IDbTransaction tx, AlertNotification n, string firingId, string? tenantId,
        DateTimeOffset now) =>
        EnqueueAsync(conn, tx, OutboxEntry.Mail(firingId, Entities.Resources.UsageAlert.KindName, n.Namespace, n.Alert, n.Group, n.EventType,
            tenantId, JsonSerializer.Serialize(n, AlertNotification.Json)), now);

    /// <summary>Enqueues a notification of any kind (see <see cref="INotificationSource"/>) inside the caller's transaction.</summary>
    public static Task EnqueueAsync(IDbConnection conn, IDbTransaction tx, OutboxEntry e, DateTimeOffset now) =>
        conn.ExecuteAsync(
            """
            INSERT INTO webhook_outbox (idempotency_key, resource_kind, namespace, alert_name, webhook_name, group_key, event_type, tenant_id,
                                        payload, created_at, next_attempt_at, channel)
            VALUES (@Key, @Kind, @Namespace, @Name, @Webhook, @Group, @EventType, @TenantId, @Payload::jsonb, @now, @now, @Channel)
            ON CONFLICT (idempotency_key) DO NOTHING
            """,
            new { e.Key, e.Kind, e.Namespace, e.Name, e.Webhook, e.Group, e.EventType, e.TenantId, e.Payload, now, e.Channel }, tx);

    public async Task<IReadOnlyList<OutboxItem>> DueAsync(DateTimeOffset now, int limit, IReadOnlyCollection<long> exclude, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var rows = await conn.QueryAsync<OutboxItem>(new CommandDefinition(
            """
            SELECT id AS Id, idempotency_key AS IdempotencyKey, namespace AS Namespace, alert_name AS AlertName, webhook_name AS WebhookName,
                   group_key AS GroupKey, event_type AS EventType, tenant_id AS TenantId, payload::text AS Payload, attempts AS Attempts,
                   resource_kind AS ResourceKind, channel AS Channel
            FROM webhook_outbox
            WHERE status = 'pending' AND next_attempt_at <= @now AND NOT (id = ANY(@exclude))
            ORDER BY next_attempt_at, id
            LIMIT @limit
            """, new { now, limit, exclude = exclude.ToArray() }, cancellationToken: ct));
        return rows.ToList();
    }

    /// <summary>Pushes the row's due time out while it is being attempted, so a crash mid-attempt only delays it.</summary>
    public async Task RescheduleAsync(long id, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(
            "UPDATE webhook_outbox SET next_attempt_at = @at WHERE id = @id AND status = 'pending'", new { id, at }, cancellationToken: ct));
    }

    /// <summary>
    /// Records one attempt and its effect on the outbox row, in one transaction. Webhook attempts also go to webhook_attempts,
    /// which the webhookFailureRate metric reads; a mail attempt is only counted on its row.
    /// </summary>
    public async Task RecordAttemptAsync(OutboxItem item, DeliveryResult result, DateTimeOffset attemptedAt, TimeSpan duration, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO webhook_attempts (outbox_id, attempted_at, succeeded, tenant_id, namespace, alert_name, webhook_name, event_type,
                                          http_status, error, duration_ms)
            SELECT @Id, @attemptedAt, @succeeded, @TenantId, @Namespace, @AlertName, @WebhookName, @EventType, @status, @error, @ms
            WHERE @Channel = 'webhook';
            UPDATE webhook_outbox
               SET attempts = attempts + 1, last_error = @error,
                   status = CASE WHEN @succeeded THEN 'delivered' ELSE status END,
                   finished_at = CASE WHEN @succeeded THEN @attemptedAt ELSE finished_at END
             WHERE id = @Id;
            """,
            new
            {
                item.Id, attemptedAt, succeeded = result.Succeeded, item.TenantId, item.Namespace, item.AlertName, item.WebhookName,
                item.EventType, status = result.HttpStatus, error = result.Error, ms = duration.TotalMilliseconds, item.Channel,
            }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }

    public async Task DeadLetterAsync(long id, string reason, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(
            "UPDATE webhook_outbox SET status = 'dead', last_error = @reason, finished_at = @at WHERE id = @id AND status = 'pending'",
            new { id, reason, at }, cancellationToken: ct));
    }

    /// <summary>Notifications waiting (to be sent or retried) and when the oldest of them was queued.</summary>
    public async Task<(long Pending, DateTime? Oldest)> BacklogAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.QuerySingleAsync<(long, DateTime?)>(new CommandDefinition(
            "SELECT count(*), min(created_at) FROM webhook_outbox WHERE status = 'pending'", cancellationToken: ct));
    }

    /// <summary>Deletes finished notifications older than the retention; returns how many.</summary>
    public async Task<int> PurgeFinishedAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(
            "DELETE FROM webhook_outbox WHERE status <> 'pending' AND finished_at < @before", new { before }, cancellationToken: ct));
    }
}
