namespace AgentMeter.Aggregator.Webhooks;

/// <summary>Section <c>Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    /// <summary>Allow targets that resolve to loopback, link-local, private, CGNAT or unspecified addresses.</summary>
    public bool AllowPrivateTargets { get; set; }
    /// <summary>Folder of the mounted Secret <c>agentmeter-webhook-secrets</c>: files <c>&lt;namespace&gt;.&lt;secret&gt;.&lt;key&gt;</c>.</summary>
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
    /// <summary>Off: this process does not deliver (the outbox keeps everything for a replica that does).</summary>
    public bool DispatcherEnabled { get; set; } = true;
}
