using System.Text.Json.Serialization;
using AgentMeter.Entities.Values;
using k8s.Models;

namespace AgentMeter.Entities.Resources;

/// <summary>An amount of money for a calendar period, with thresholds and a forecast that notify. Namespaced.</summary>
[KubernetesEntity(Group = Group, ApiVersion = Version, Kind = KindName, PluralName = Plural)]
public sealed class Budget : CustomResource<BudgetSpec, BudgetStatus>
{
    public const string KindName = "Budget";
    public const string Plural = "budgets";
    public Budget() => Kind = KindName;
}

public static class BudgetPeriods
{
    public const string Day = "day";
    public const string Week = "week";
    public const string Month = "month";
    public const string Quarter = "quarter";
    public static readonly IReadOnlyList<string> All = [Day, Week, Month, Quarter];
}

public static class BudgetStates
{
    public const string UnderBudget = "UnderBudget";
    public const string Warning = "Warning";
    public const string ProjectedOverrun = "ProjectedOverrun";
    public const string Exceeded = "Exceeded";
}

public sealed class BudgetSpec
{
    /// <summary>The money the period may spend, a decimal string such as "500" or "1250.50".</summary>
    [JsonPropertyName("amount")] public DecimalString? Amount { get; set; }
    /// <summary>Only costs in this currency count (ISO 4217 code, as on the CostRates).</summary>
    [JsonPropertyName("currency")] public string Currency { get; set; } = "USD";
    /// <summary>day | week (Monday to Sunday) | month | quarter, calendar periods in <see cref="TimeZone"/>.</summary>
    [JsonPropertyName("period")] public string Period { get; set; } = BudgetPeriods.Month;
    /// <summary>IANA time zone the period's calendar is read in.</summary>
    [JsonPropertyName("timeZone")] public string TimeZone { get; set; } = "UTC";
    [JsonPropertyName("filter")] public AlertFilter? Filter { get; set; }
    /// <summary>Percentages of the amount that notify once each per period.</summary>
    [JsonPropertyName("thresholds")] public IList<int> Thresholds { get; set; } = [50, 80, 100];
    /// <summary>Also notify (once per period) when the projection for the period's end reaches the amount.</summary>
    [JsonPropertyName("forecast")] public bool Forecast { get; set; } = true;
    [JsonPropertyName("webhooks")] public IList<AlertWebhook>? Webhooks { get; set; }
    [JsonPropertyName("email")] public EmailRecipients? Email { get; set; }
}

public sealed class BudgetStatus : ResourceStatus
{
    [JsonPropertyName("spent")] public string? Spent { get; set; }
    [JsonPropertyName("remaining")] public string? Remaining { get; set; }
    [JsonPropertyName("percentUsed")] public string? PercentUsed { get; set; }
    [JsonPropertyName("projected")] public string? Projected { get; set; }
    /// <summary>The day (YYYY-MM-DD, in the budget's time zone) the amount is reached at the projected pace; empty when it is not within the period.</summary>
    [JsonPropertyName("projectedExhaustion")] public string? ProjectedExhaustion { get; set; }
    /// <summary>UnderBudget | Warning | ProjectedOverrun | Exceeded.</summary>
    [JsonPropertyName("state")] public string? State { get; set; }
    [JsonPropertyName("periodStart")] public DateTime? PeriodStart { get; set; }
    [JsonPropertyName("periodEnd")] public DateTime? PeriodEnd { get; set; }
    [JsonPropertyName("lastNotifiedThreshold")] public int? LastNotifiedThreshold { get; set; }
}
