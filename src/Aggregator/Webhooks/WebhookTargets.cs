using System.Net.Sockets;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>Turns an alert's webhook spec into a <see cref="WebhookTarget"/>, or says what is missing.</summary>
public sealed class WebhookTargets(SecretFiles secrets, TargetGuard guard)
{
    public bool TryResolve(UsageAlert alert, AlertWebhook hook, out WebhookTarget target, out WebhookReadiness problem) =>
        TryResolve(ResourceNamespace.Of(alert.Metadata), hook, out target, out problem);

    /// <summary>A webhook of a resource in <paramref name="ns"/> (its Secrets are that namespace's).</summary>
    public bool TryResolve(string ns, AlertWebhook hook, out WebhookTarget target, out WebhookReadiness problem)
    {
        target = null!;
        string url;
        if (hook.UrlSecretRef is { } urlRef)
        {
            if (!secrets.TryRead(ns, urlRef, out url, out var why))
                return Fail(hook, WebhookReadiness.ReasonSecretMissing, $"urlSecretRef: {why}", out problem);
        }
        else url = hook.Url ?? "";
        // The URL may carry a token (Slack hooks do): messages name the host at most.
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return Fail(hook, WebhookReadiness.ReasonInvalidUrl, "the webhook URL is not an absolute http(s) URL", out problem);
        string? signing = null, routing = null;
        if (hook.SigningSecretRef is { } signRef && !secrets.TryRead(ns, signRef, out signing, out var signWhy))
            return Fail(hook, WebhookReadiness.ReasonSecretMissing, $"signingSecretRef: {signWhy}", out problem);
        if (hook.RoutingKeySecretRef is { } routeRef && !secrets.TryRead(ns, routeRef, out routing, out var routeWhy))
            return Fail(hook, WebhookReadiness.ReasonSecretMissing, $"routingKeySecretRef: {routeWhy}", out problem);
        if (hook.Format == WebhookFormats.PagerDuty && routing is null)
            return Fail(hook, WebhookReadiness.ReasonSecretMissing, "pagerduty needs routingKeySecretRef", out problem);
        target = new WebhookTarget(uri, hook.Format, signing, routing);
        problem = new WebhookReadiness(hook.Name, true, WebhookReadiness.ReasonReady, "target resolved and allowed");
        return true;
    }

    /// <summary>Secrets readable and the host allowed by the SSRF guard right now.</summary>
    public async Task<WebhookReadiness> CheckAsync(UsageAlert alert, AlertWebhook hook, CancellationToken ct)
    {
        if (!TryResolve(alert, hook, out var target, out var problem)) return problem;
        try
        {
            await guard.CheckHostAsync(target.Url.IdnHost, ct);
            return problem;
        }
        catch (TargetRefusedException e)
        {
            return new WebhookReadiness(hook.Name, false, WebhookReadiness.ReasonTargetRefused, e.Message);
        }
        catch (SocketException e)
        {
            return new WebhookReadiness(hook.Name, false, WebhookReadiness.ReasonUnresolvable,
                $"host {target.Url.IdnHost} does not resolve ({e.SocketErrorCode})");
        }
    }

    private static bool Fail(AlertWebhook hook, string reason, string message, out WebhookReadiness problem)
    {
        problem = new WebhookReadiness(hook.Name, false, reason, message);
        return false;
    }
}
