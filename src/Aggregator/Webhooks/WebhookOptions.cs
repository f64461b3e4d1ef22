namespace AgentMeter.Aggregator.Webhooks;

/// <summary>Section <c>Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    /// <summary>Allow every target the SSRF guard would refuse (labs, tests); production names its exceptions in <see cref="AllowedTargets"/>.</summary>
    public bool AllowPrivateTargets { get; set; }
    /// <summary>Exceptions to the SSRF guard: address ranges (CIDR), addresses, host names, *.suffixes (<see cref="TargetAllowList"/>).</summary>
    public List<string> AllowedTargets { get; set; } = [];
    /// <summary>
    /// Egress proxy every webhook goes through (http://host:port, credentials as user:password@ if
    /// needed): the proxy resolves and connects, the guard judges the URL's host as written.
    /// </summary>
    public Uri? Proxy { get; set; }
    /// <summary>
    /// Without <c>Resources__Namespace</c> (demo, tests, outside a cluster): the folder of webhook Secret keys, one
    /// subfolder per namespace with files <c>&lt;secret&gt;.&lt;key&gt;</c> (as each namespace's hand-off Secret would mount).
    /// </summary>
    public string SecretsPath { get; set; } = "/etc/agentmeter/secrets";
    /// <summary>Attempts per notification before it is dead-lettered.</summary>
    public int MaxAttempts { get; set; } = 8;
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>First retry delay; doubles per attempt (with jitter) up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(2);
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>How often the dispatcher looks for due notifications.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Notifications delivered (or waiting for a retry) at once.</summary>
    public int MaxInFlight { get; set; } = 32;
    /// <summary>Delivered and dead-lettered notifications are deleted from the outbox this long after they finished (attempts stay).</summary>
    public TimeSpan OutboxRetention { get; set; } = TimeSpan.FromDays(30);
    /// <summary>Off: this process does not deliver (the outbox keeps everything for a replica that does).</summary>
    public bool DispatcherEnabled { get; set; } = true;
    /// <summary>Hosts besides the PagerDuty Events API a routing key may be sent to (<see cref="Entities.Validation.PagerDutyHosts"/>).</summary>
    public List<string> PagerDutyHosts { get; set; } = [];

    /// <summary>Refuses settings the delivery pipeline cannot run with, naming the setting.</summary>
    public void Validate()
    {
        string? problem = null;
        if (MaxAttempts < 1) problem = $"Webhooks__MaxAttempts must be at least 1, got {MaxAttempts}";
        else if (AttemptTimeout <= TimeSpan.Zero || AttemptTimeout > TimeSpan.FromDays(1))
            problem = $"Webhooks__AttemptTimeout must be between 00:00:00.001 and 1.00:00:00, got {AttemptTimeout}";
        else if (BaseDelay <= TimeSpan.Zero || BaseDelay > TimeSpan.FromDays(1)) problem = $"Webhooks__BaseDelay must be between 00:00:00.001 and 1.00:00:00, got {BaseDelay}";
        else if (MaxDelay < BaseDelay) problem = $"Webhooks__MaxDelay ({MaxDelay}) must not be below Webhooks__BaseDelay ({BaseDelay})";
        else if (PollInterval <= TimeSpan.Zero) problem = $"Webhooks__PollInterval must be positive, got {PollInterval}";
        else if (MaxInFlight < 1) problem = $"Webhooks__MaxInFlight must be at least 1, got {MaxInFlight}";
        else if (OutboxRetention <= TimeSpan.Zero) problem = $"Webhooks__OutboxRetention must be positive, got {OutboxRetention}";
        else if (Proxy is not null && (!Proxy.IsAbsoluteUri || Proxy.Scheme != "http" || Proxy.AbsolutePath != "/"))
            problem = "Webhooks__Proxy must be an http://host:port URL of the egress proxy";
        if (problem is not null) throw new InvalidOperationException(problem);
        _ = new TargetAllowList(AllowedTargets); // names a bad entry

    }
}
