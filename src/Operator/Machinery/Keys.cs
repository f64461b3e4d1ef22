namespace AgentMeter.Operator.Machinery;

/// <summary>
/// Work-queue keys: <c>Kind:namespace/name</c> per resource, one key for the shared aggregator workload, and
/// <c>handoff:&lt;namespace&gt;</c> per namespace, so a change in one namespace re-renders only its hand-off objects.
/// </summary>
public static class Keys
{
    public const string Workload = "workload";
    public const string HandOffKind = "handoff";
    public static string HandOff(string ns) => $"{HandOffKind}:{ns}";
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
