namespace AgentMeter.Aggregator.Auth;

/// <summary>
/// Whether the service runs without tokens, decided once at start: with no admin, ingest or tenant
/// token configured then, every caller is the admin (and the service listens on loopback only); with
/// any configured, a token is needed for good, even if a mounted token folder empties later.
/// </summary>
public sealed record AuthMode(bool Open);
