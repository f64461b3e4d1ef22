using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// What a caller may write, checked on a whole batch of well-formed events before it is queued, for
/// every ingest endpoint alike: how old an event may be, how many days one batch may touch, and —
/// for a tenant's ingest token — which tenant it writes.
/// </summary>
public static class BatchRules
{
    /// <summary>
    /// The events to store (with <paramref name="pinnedTenant"/> filled in where an event names no
    /// tenant), or the problems, each naming the event's index and field.
    /// </summary>
    public static (IReadOnlyList<UsageEvent> Events, IReadOnlyList<IngestProblem> Problems) Check(
        IReadOnlyList<UsageEvent> events, string? pinnedTenant, DateTimeOffset now, IngestOptions options)
    {
        var problems = new List<IngestProblem>();
        var oldest = now - options.MaxEventAge;
        var days = new HashSet<DateOnly>();
        var firstDayTooMany = -1;
        UsageEvent[]? pinned = null;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e.Time < oldest)
                problems.Add(new(i, "time", $"{e.Time.UtcDateTime:yyyy-MM-ddTHH:mm:ss.FFFFFFZ} is more than {options.MaxEventAge} " +
                                            $"(Ingest__MaxEventAge) before the server clock ({now.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})"));
            else if (days.Add(DateOnly.FromDateTime(e.Time.UtcDateTime)) && days.Count == options.MaxDaysPerBatch + 1)
                firstDayTooMany = i;
            if (pinnedTenant is null) continue;
            if (!EventValidator.CarriesTenant(e.Type))
                problems.Add(new(i, "type", $"{e.Type} carries no tenant_id: a tenant's ingest token posts only events of its tenant " +
                                            $"({string.Join(", ", EventTypes.All.Where(EventValidator.CarriesTenant))})"));
            else if (e.TenantId is null)
                (pinned ??= [.. events])[i] = e with { TenantId = pinnedTenant };
            else if (e.TenantId != pinnedTenant)
                problems.Add(new(i, "tenant_id", $"\"{e.TenantId}\" is not the tenant of this token: it writes tenant \"{pinnedTenant}\" only"));
        }
        if (firstDayTooMany >= 0)
            problems.Add(new(firstDayTooMany, "time", $"is on {events[firstDayTooMany].Time.UtcDateTime:yyyy-MM-dd}, past the first " +
                                                      $"{options.MaxDaysPerBatch} of the {days.Count} UTC days this batch spans; at most " +
                                                      $"{options.MaxDaysPerBatch} per batch (Ingest__MaxDaysPerBatch): split it by day"));
        return (pinned ?? events, [.. problems.OrderBy(p => p.Index)]);
    }
}
