using AgentMeter.Entities.Resources;
using Cronos;

namespace AgentMeter.Entities.Validation;

/// <summary>Semantic checks of a RetentionPolicy: the cron schedule and time zone must be real, not just well-shaped.</summary>
public static class RetentionPolicyValidator
{
    public static IReadOnlyList<FieldProblem> Validate(RetentionPolicy policy)
    {
        var p = new ProblemList();
        var s = policy.Spec;
        p.Require(policy.Metadata?.Name, "metadata.name");
        if (!CronExpression.TryParse(s.Schedule, CronFormat.Standard, out _))
            p.Add("spec.schedule", $"\"{s.Schedule}\" is not a 5-field cron expression such as \"0 0 * * *\"");
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(s.TimeZone, out _))
            p.Add("spec.timeZone", $"\"{s.TimeZone}\" is not an IANA time zone such as UTC or Europe/Berlin");
        p.AtLeast(s.DailyRetentionDays, 1, "spec.dailyRetentionDays");
        p.AtLeast(s.MonthlyRetentionMonths, 1, "spec.monthlyRetentionMonths");
        p.AtLeast(s.RawEventRetentionDays, 1, "spec.rawEventRetentionDays");
        if (s.MonthlyRetentionMonths is not null && !s.MonthlyRollup)
            p.Add("spec.monthlyRetentionMonths", "needs monthlyRollup: true");
        return p.Items;
    }
}
