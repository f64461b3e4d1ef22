using System.Text;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Validation;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// One delivery attempt of an outbox item: resolves the webhook of its alert (or other <see cref="INotificationSource"/>) as currently defined (URL and
/// secrets from the mounted Secret files), renders the format, signs, posts. Never throws for a
/// failed delivery; only cancellation escapes.
/// </summary>
public sealed class WebhookSender(ResourceStore store, WebhookTargets targets, WebhookHttp http, WebhookOptions options, TimeProvider time,
    IEnumerable<INotificationSource> sources) : INotificationChannel
{
    public string Name => INotificationChannel.Webhook;

    public const string IdempotencyHeader = "Idempotency-Key";
    public const string EventHeader = "X-AgentMeter-Event";

    public async Task<DeliveryResult> SendAsync(OutboxItem item, CancellationToken ct)
    {
        var source = item.ResourceKind == UsageAlert.KindName ? null : sources.FirstOrDefault(s => s.Kind == item.ResourceKind);
        var hook = source is not null
            ? source.FindWebhook(item.Namespace, item.AlertName, item.WebhookName)
            : store.Current.UsageAlerts.FirstOrDefault(a => ResourceNamespace.Of(a.Metadata) == item.Namespace && a.Metadata.Name == item.AlertName)
                ?.Spec.Webhooks?.FirstOrDefault(h => h.Name == item.WebhookName);
        if (hook is null)
            return DeliveryResult.Permanent($"the {item.ResourceKind} or this webhook is no longer defined");
        // A Secret not mounted yet may appear on a later attempt.
        if (!targets.TryResolve(item.Namespace, hook, out var target, out var problem))
            return DeliveryResult.Transient($"{problem.Reason}: {problem.Message}");
        // Validation checks a URL in clear; one from a Secret is only known here. A routing key never leaves for another host.
        if (target.RoutingKey is not null && !PagerDutyHosts.Allows(target.Url, options.PagerDutyHosts))
            return DeliveryResult.Permanent($"{WebhookReadiness.ReasonTargetRefused}: {PagerDutyHosts.Refusal(target.Url, options.PagerDutyHosts)}");

        var body = source is not null
            ? source.Render(target.Format, item, target.RoutingKey)
            : WebhookPayloads.Render(target.Format, item.Notification, item.IdempotencyKey, target.RoutingKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(IdempotencyHeader, item.IdempotencyKey);
        request.Headers.Add(EventHeader, item.EventType);
        if (target.SigningSecret is { } secret)
        {
            var ts = time.GetUtcNow().ToUnixTimeSeconds();
            request.Headers.Add(WebhookSignature.TimestampHeader, ts.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(secret, ts, body));
        }
        try
        {
            using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var code = (int)response.StatusCode;
            if (response.IsSuccessStatusCode) return DeliveryResult.Success with { HttpStatus = code };
            if (code is 408 or 425 or 429 or >= 500) return DeliveryResult.Transient($"HTTP {code}", code);
            if (code is >= 300 and < 400) return DeliveryResult.Permanent($"HTTP {code}: redirects are not followed", code);
            return DeliveryResult.Permanent($"HTTP {code}: the receiver rejected the request", code);
        }
        catch (HttpRequestException e) when (Refusal(e) is { } refused)
        {
            return DeliveryResult.Permanent($"{WebhookReadiness.ReasonTargetRefused}: {refused.Message}");
        }
        catch (HttpRequestException e)
        {
            // Messages name host:port at most, never the path (which may hold a token).
            return DeliveryResult.Transient($"{e.HttpRequestError}: {e.InnerException?.Message ?? e.Message}");
        }
    }

    private static TargetRefusedException? Refusal(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is TargetRefusedException t) return t;
        return null;
    }
}
