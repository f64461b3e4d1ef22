using System.Text.RegularExpressions;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Entities.Validation;

/// <summary>Semantic checks of a Budget, including those a CRD schema cannot make (a real time zone, mail addresses).</summary>
public static partial class BudgetValidator
{
    public const int MaxThreshold = 1000;

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyCode();

    public static IReadOnlyList<FieldProblem> Validate(Budget budget, ResourceRules? rules = null)
    {
        rules ??= ResourceRules.Default;
        var p = new ProblemList();
        var s = budget.Spec;
        p.Require(budget.Metadata?.Name, "metadata.name");
        if (s.Amount is null) p.Add("spec.amount", "is required (a decimal string such as \"500\" or \"1250.50\")");
        else if (s.Amount.Value.Value <= 0) p.Add("spec.amount", $"must be more than 0, got {s.Amount.Value.Text}");
        if (!CurrencyCode().IsMatch(s.Currency ?? ""))
            p.Add("spec.currency", $"\"{s.Currency}\" is not an ISO 4217 code such as USD or EUR");
        if (!BudgetPeriods.All.Contains(s.Period))
            p.Add("spec.period", $"\"{s.Period}\" is not one of {string.Join(", ", BudgetPeriods.All)}");
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(s.TimeZone ?? "", out _))
            p.Add("spec.timeZone", $"\"{s.TimeZone}\" is not an IANA time zone such as UTC or Europe/Berlin");
        FilterValues.Check(p, s.Filter);
        if (s.Thresholds is null || s.Thresholds.Count == 0) p.Add("spec.thresholds", "needs at least one percentage such as 50, 80, 100");
        else
        {
            for (var i = 0; i < s.Thresholds.Count; i++)
                if (s.Thresholds[i] is < 1 or > MaxThreshold)
                    p.Add($"spec.thresholds[{i}]", $"must be a percentage from 1 to {MaxThreshold}, got {s.Thresholds[i]}");
            if (s.Thresholds.Distinct().Count() != s.Thresholds.Count)
                p.Add("spec.thresholds", "lists a percentage twice");
        }
        UsageAlertValidator.Webhooks(p, s.Webhooks, rules);
        EmailAddresses.Check(p, s.Email);
        return p.Items;
    }
}
