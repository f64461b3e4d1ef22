using System.Text.Json.Serialization;
using k8s.Models;

namespace AgentMeter.Entities.Resources;

/// <summary>How long usage data is kept. Cluster-scoped; only the one named <c>default</c> applies.</summary>
[KubernetesEntity(Group = Group, ApiVersion = Version, Kind = KindName, PluralName = Plural)]
public sealed class RetentionPolicy : CustomResource<RetentionPolicySpec, RetentionPolicyStatus>
{
    public const string KindName = "RetentionPolicy";
    public const string Plural = "retentionpolicies";
    public const string DefaultName = "default";
    public RetentionPolicy() => Kind = KindName;
}

public sealed class RetentionPolicySpec
{
    [JsonPropertyName("schedule")] public string Schedule { get; set; } = "0 0 * * *";
    [JsonPropertyName("timeZone")] public string TimeZone { get; set; } = "UTC";
    [JsonPropertyName("dailyRetentionDays")] public int DailyRetentionDays { get; set; } = 90;
    [JsonPropertyName("monthlyRollup")] public bool MonthlyRollup { get; set; } = true;
    /// <summary>Months of monthly rollups to keep; unset keeps them forever.</summary>
    [JsonPropertyName("monthlyRetentionMonths")] public int? MonthlyRetentionMonths { get; set; }
    /// <summary>Days of raw events to keep; unset keeps them as long as daily data.</summary>
    [JsonPropertyName("rawEventRetentionDays")] public int? RawEventRetentionDays { get; set; }
}

public sealed class RetentionPolicyStatus : ResourceStatus
{
    [JsonPropertyName("lastRunTime")] public DateTime? LastRunTime { get; set; }
    [JsonPropertyName("nextRunTime")] public DateTime? NextRunTime { get; set; }
    [JsonPropertyName("lastResult")] public string? LastResult { get; set; }
}
