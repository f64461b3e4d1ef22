using AgentMeter.Entities.Resources;
using Cronos;

namespace AgentMeter.Aggregator.Retention;

/// <summary>When the scheduled pass runs: the policy's cron expression read in its time zone.</summary>
public static class RetentionSchedule
{
    /// <summary>The first occurrence strictly after <paramref name="after"/>, in UTC.</summary>
    public static DateTimeOffset? NextRun(RetentionPolicySpec spec, DateTimeOffset after)
    {
        var cron = CronExpression.Parse(spec.Schedule, CronFormat.Standard);
        var zone = TimeZoneInfo.FindSystemTimeZoneById(spec.TimeZone);
        return cron.GetNextOccurrence(after, zone)?.ToUniversalTime();
    }
}
