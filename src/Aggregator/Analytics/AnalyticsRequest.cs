using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// The parsed common parameters of an analytics request. <see cref="Tenant"/> is already confined by
/// the caller's token: null only for the admin asking for every tenant.
/// </summary>
public sealed record AnalyticsRequest(DateOnly From, DateOnly To, string? Tenant, Dimension GroupBy, int Limit)
{
    /// <summary>Start of the first day and end of the last, as UTC instants.</summary>
    public DateTime Start => From.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
    public DateTime End => To.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
}

/// <summary>A rejected parameter: the 400 body of docs/contracts.md.</summary>
public sealed record ParameterError(string Error, string Parameter)
{
    public static ParameterError Of(string parameter, string problem, string accepts) =>
        new($"{parameter}: {problem}; accepts {accepts}", parameter);
}
