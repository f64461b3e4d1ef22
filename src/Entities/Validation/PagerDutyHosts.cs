namespace AgentMeter.Entities.Validation;

/// <summary>
/// Where a PagerDuty routing key may be sent: the PagerDuty Events API over https, or a host the platform team
/// configured (an internal relay, a test receiver). The one home of this rule: the UsageAlert validation that the
/// operator and the aggregator both run, and the aggregator's sender for URLs that come from a Secret.
/// </summary>
public static class PagerDutyHosts
{
    public static readonly IReadOnlyList<string> EventsApi = ["events.pagerduty.com", "events.eu.pagerduty.com"];

    /// <summary>True when <paramref name="url"/> is an Events API host over https, or a host of <paramref name="configured"/>.</summary>
    public static bool Allows(Uri url, IEnumerable<string> configured) =>
        (url.Scheme == Uri.UriSchemeHttps && EventsApi.Contains(url.IdnHost, StringComparer.OrdinalIgnoreCase)) ||
        configured.Contains(url.IdnHost, StringComparer.OrdinalIgnoreCase);

    /// <summary>Why a URL is refused; names the host only (a URL path may carry a token).</summary>
    public static string Refusal(Uri url, IEnumerable<string> configured)
    {
        var allowed = EventsApi.Select(h => $"https://{h}").Concat(configured).ToList();
        return $"a pagerduty webhook sends its routing key, so its URL must be on {string.Join(", ", allowed)}; host {url.IdnHost} is not " +
               "(the platform team can allow a host with the aggregator setting Webhooks__PagerDutyHosts)";
    }
}
