namespace AgentMeter.Aggregator.Alerts;

/// <summary>
/// Persisted state of one alert group (a row of alert_states); <see cref="Value"/> is the value at its
/// last state change (the current one goes with the alert's evaluation row).
/// </summary>
public sealed record AlertGroupState(
    string Group, string State, decimal? Value, DateTimeOffset Since, DateTimeOffset? LastFiredAt, bool Notified, string? FiringId)
{
    public const string Ok = "Ok";
    public const string Firing = "Firing";
}
