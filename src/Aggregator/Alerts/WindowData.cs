namespace AgentMeter.Aggregator.Alerts;

/// <summary>Everything the metrics of alerts with one window length read, loaded once per evaluation cycle.</summary>
public sealed record WindowData(
    IReadOnlyList<UsageRow> Usage,
    /// <summary>Servers whose circuit breaker was open at some point of the window.</summary>
    IReadOnlySet<string> OpenBreakers,
    /// <summary>Webhook attempts and failures per tenant ('' when the alert had no tenant).</summary>
    IReadOnlyDictionary<string, (long Attempts, long Failures)> WebhookAttempts);
