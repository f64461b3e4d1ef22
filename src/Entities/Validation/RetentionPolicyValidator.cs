using AgentMeter.Entities.Resources;
using Cronos;

namespace AgentMeter.Entities.Validation;

/// <summary>Semantic checks of a RetentionPolicy: the cron schedule and time zone must be real, not just well-shaped.</summary>
public static class RetentionPolicyValidator
{
    public static IReadOnlyList<ValidationProblem> Validate(RetentionPolicy policy)
    {
        var problems = new ProblemList();
        var spec = policy.Spec;
        if (!CronExpression.TryParse(spec.Schedule, CronFormat.Standard, out _))
            problems.Add("spec.schedule", $"\"{spec.Schedule}\" is not a five-field cron expression such as \"0 0 * * *\"");
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(spec.TimeZone, out _))
            problems.Add("spec.timeZone", $"\"{spec.TimeZone}\" is not a known IANA time zone such as UTC or Europe/Berlin");
        problems.RequireMinimum("spec.dailyRetentionDays", spec.DailyRetentionDays, 1);
        problems.RequireMinimum("spec.monthlyRetentionMonths", spec.MonthlyRetentionMonths, 1);
        problems.RequireMinimum("spec.rawEventRetentionDays", spec.RawEventRetentionDays, 1);
        if (spec.MonthlyRetentionMonths is not null && !spec.MonthlyRollup)
            problems.Add("spec.monthlyRetentionMonths", "needs monthlyRollup: true");
        return problems;
    }
}
