using System.Collections.Concurrent;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// Readiness of each alert webhook for <c>/api/v1/alerts</c>, re-checked at most every
/// <see cref="Ttl"/> (it resolves DNS). A webhook turning unready is logged once, with the reason.
/// </summary>
public sealed class WebhookReadinessCache(WebhookTargets targets, TimeProvider time, ILogger<WebhookReadinessCache> log)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<(string Ns, string Alert, string Hook), (DateTimeOffset At, WebhookReadiness Readiness)> _entries = new();

    public async Task<IReadOnlyList<WebhookReadiness>> GetAsync(UsageAlert alert, CancellationToken ct)
    {
        var result = new List<WebhookReadiness>();
        foreach (var hook in alert.Spec.Webhooks ?? [])
        {
            var key = (ResourceNamespace.Of(alert.Metadata), alert.Metadata.Name, hook.Name);
            var now = time.GetUtcNow();
            if (_entries.TryGetValue(key, out var cached) && now - cached.At < Ttl)
            {
                result.Add(cached.Readiness);
                continue;
            }
            var readiness = await targets.CheckAsync(alert, hook, ct);
            if (!readiness.Ready && (cached.Readiness is null || cached.Readiness.Ready || cached.Readiness.Reason != readiness.Reason))
                log.LogWarning("Webhook {Webhook} of alert {Namespace}/{Alert} is not ready: {Reason}: {Message}",
                    hook.Name, key.Item1, key.Item2, readiness.Reason, readiness.Message);
            _entries[key] = (now, readiness);
            result.Add(readiness);
        }
        return result;
    }
}
