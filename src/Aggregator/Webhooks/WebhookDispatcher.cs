using System.Collections.Concurrent;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Metrics;
using Dapper;
using Npgsql;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// Drains the outbox on the one replica holding <see cref="AdvisoryLocks.WebhookDispatch"/>. Each
/// notification goes through a Polly pipeline — retry with exponential backoff and jitter around a
/// per-attempt timeout. Every attempt is recorded before the next starts, and the next attempt time
/// is persisted, so a restart resumes where it stopped: at-least-once, receivers deduplicate on the
/// Idempotency-Key header (webhooks) or the Message-ID (mail). Each row goes out through its <see cref="INotificationChannel"/>.
/// </summary>
public sealed class WebhookDispatcher(
    NpgsqlDataSource db, MigrationState migrations, WebhookOutbox outbox, IEnumerable<INotificationChannel> channels, RegistryMetrics metrics,
    WebhookOptions options, TimeProvider time, ILogger<WebhookDispatcher> log) : BackgroundService
{
    /// <summary>Extra time past the attempt timeout before a crashed attempt's notification is due again.</summary>
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<long, Task> _inFlight = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var conn = await db.OpenConnectionAsync(stoppingToken);
                if (await conn.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_lock(@k)", new { k = AdvisoryLocks.WebhookDispatch }))
                {
                    try
                    {
                        var nextPurge = DateTimeOffset.MinValue;
                        while (!stoppingToken.IsCancellationRequested)
                        {
                            if (time.GetUtcNow() >= nextPurge)
                            {
                                var purged = await outbox.PurgeFinishedAsync(time.GetUtcNow() - options.OutboxRetention, stoppingToken);
                                if (purged > 0) log.LogInformation("Deleted {Count} finished webhook notification(s) past Webhooks__OutboxRetention", purged);
                                nextPurge = time.GetUtcNow() + TimeSpan.FromHours(1);
                            }
                            StartDue(await outbox.DueAsync(time.GetUtcNow(), options.MaxInFlight - _inFlight.Count, _inFlight.Keys.ToList(), stoppingToken),
                                stoppingToken);
                            await Task.Delay(options.PollInterval, time, stoppingToken);
                            await conn.ExecuteAsync("SELECT 1"); // the lock lives as long as this session: notice if it died
                        }
                    }
                    finally
                    {
                        if (conn.State == System.Data.ConnectionState.Open)
                            await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.WebhookDispatch });
                    }
                }
                else await Task.Delay(options.PollInterval * 5, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning(e, "Webhook dispatch paused ({Message}); retrying", e.Message);
                try { await Task.Delay(options.PollInterval * 5, time, stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
        await Task.WhenAll(_inFlight.Values);
    }

    private void StartDue(IReadOnlyList<OutboxItem> due, CancellationToken ct)
    {
        foreach (var item in due)
        {
            // Registered before it runs, so its removal at the end can never come first.
            var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _inFlight[item.Id] = Task.Run(async () =>
            {
                await registered.Task;
                try { await DeliverAsync(item, ct); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { /* resumed by the next dispatcher */ }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    // The row stays pending and is picked up again when due.
                    log.LogWarning(e, "Webhook {Webhook} of alert {Namespace}/{Alert}: delivery bookkeeping failed ({Message}); it stays queued",
                        item.WebhookName, item.Namespace, item.AlertName, e.Message);
                }
                finally { _inFlight.TryRemove(item.Id, out _); }
            }, CancellationToken.None);
            registered.SetResult();
        }
    }

    private async Task DeliverAsync(OutboxItem item, CancellationToken ct)
    {
        var remaining = options.MaxAttempts - item.Attempts;
        DeliveryResult result;
        var made = 0;
        if (remaining <= 0) result = DeliveryResult.Permanent($"no attempt left of {options.MaxAttempts}");
        else result = await Pipeline(item, remaining).ExecuteAsync(token =>
        {
            made++;
            return AttemptAsync(item, token, ct);
        }, ct);
        if (result.Succeeded) return;
        if (result.Retriable && ct.IsCancellationRequested && item.Attempts + made < options.MaxAttempts)
        {
            // Stopped between attempts (the pipeline hands back the last failure): not a dead letter, a retry for the next process.
            await outbox.RescheduleAsync(item.Id, time.GetUtcNow() + options.BaseDelay, CancellationToken.None);
            return;
        }
        await outbox.DeadLetterAsync(item.Id, result.Error ?? "failed", time.GetUtcNow(), CancellationToken.None);
        log.LogError("{Channel} {Webhook} of {Kind} {Namespace}/{Alert}: {EventType} notification {Key} dead-lettered: {Error}",
            item.Channel, item.WebhookName, item.ResourceKind, item.Namespace, item.AlertName, item.EventType, item.IdempotencyKey, result.Error);
    }

    private ResiliencePipeline<DeliveryResult> Pipeline(OutboxItem item, int remaining)
    {
        var builder = new ResiliencePipelineBuilder<DeliveryResult> { TimeProvider = time };
        if (remaining > 1)
        {
            // Resumed after a restart: continue the exponential series where the persisted attempts left it.
            var delay = TimeSpan.FromTicks((long)Math.Min(options.BaseDelay.Ticks * Math.Pow(2, item.Attempts), options.MaxDelay.Ticks));
            builder.AddRetry(new RetryStrategyOptions<DeliveryResult>
            {
                ShouldHandle = new PredicateBuilder<DeliveryResult>().HandleResult(r => r.Retriable).Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = remaining - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = delay,
                MaxDelay = options.MaxDelay,
                OnRetry = async args =>
                    await outbox.RescheduleAsync(item.Id, time.GetUtcNow() + args.RetryDelay, CancellationToken.None),
            });
        }
        return builder.AddTimeout(options.AttemptTimeout).Build();
    }

    private async ValueTask<DeliveryResult> AttemptAsync(OutboxItem item, CancellationToken attemptToken, CancellationToken stopping)
    {
        var started = time.GetUtcNow();
        var ticks = time.GetTimestamp();
        await outbox.RescheduleAsync(item.Id, started + options.AttemptTimeout + LeaseMargin, stopping);
        DeliveryResult result;
        try
        {
            result = channels.FirstOrDefault(c => c.Name == item.Channel) is { } channel
                ? await channel.SendAsync(item, attemptToken)
                : DeliveryResult.Permanent($"no {item.Channel} channel in this aggregator");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down mid-attempt: not the receiver's fault; make it due at once for whoever runs next.
            await outbox.RescheduleAsync(item.Id, time.GetUtcNow(), CancellationToken.None);
            throw;
        }
        catch (OperationCanceledException)
        {
            result = DeliveryResult.Transient($"no response within {options.AttemptTimeout}");
        }
        await outbox.RecordAttemptAsync(item, result, started, time.GetElapsedTime(ticks), CancellationToken.None);
        if (item.Channel == INotificationChannel.Webhook) metrics.WebhookDelivery(result.Succeeded, item.EventType);
        if (result.Succeeded)
            log.LogInformation("{Channel} {Webhook} of {Kind} {Namespace}/{Alert}: {EventType} notification {Key} delivered",
                item.Channel, item.WebhookName, item.ResourceKind, item.Namespace, item.AlertName, item.EventType, item.IdempotencyKey);
        else
            log.LogWarning("{Channel} {Webhook} of {Kind} {Namespace}/{Alert}: {EventType} attempt failed: {Error}",
                item.Channel, item.WebhookName, item.ResourceKind, item.Namespace, item.AlertName, item.EventType, result.Error);
        return result;
    }
}
