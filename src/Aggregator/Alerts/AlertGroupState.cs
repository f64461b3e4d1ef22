namespace AgentMeter.Aggregator.Alerts;

/// <summary>Persisted state of one alert group (a row of alert_states).</summary>
public sealed record AlertGroupState(
    string Group, string State, decimal? Value, DateTimeOffset Since, DateTimeOffset? LastFiredAt, bool Notified, string? FiringId)
{
    public const string Ok = "Ok";
    public const string Firing = "Firing";
}
