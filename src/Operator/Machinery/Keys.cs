namespace AgentMeter.Operator.Machinery;

/// <summary>Work-queue keys: <c>Kind:namespace/name</c> per resource, and one key for the shared aggregator workload.</summary>
public static class Keys
{
    public const string Workload = "workload";
    public static string UsageAlert(string objectKey) => $"{Entities.Resources.UsageAlert.KindName}:{objectKey}";
    public static string CostRate(string objectKey) => $"{Entities.Resources.CostRate.KindName}:{objectKey}";
    public static string Budget(string objectKey) => $"{Entities.Resources.Budget.KindName}:{objectKey}";
    public static string RetentionPolicy(string objectKey) => $"{Entities.Resources.RetentionPolicy.KindName}:{objectKey}";

    public static (string Kind, string ObjectKey) Split(string key)
    {
        var colon = key.IndexOf(':');
        return colon < 0 ? (key, "") : (key[..colon], key[(colon + 1)..]);
    }
}
