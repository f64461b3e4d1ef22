namespace AgentMeter.Operator.Rendering;

/// <summary>Recommended labels on everything the operator writes, so <c>kubectl get -l</c> finds it.</summary>
public static class Labels
{
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string PartOf = "app.kubernetes.io/part-of";
    public const string Name = "app.kubernetes.io/name";
    public const string Component = "app.kubernetes.io/component";

    public static Dictionary<string, string> Common(IReadOnlyDictionary<string, string>? extra = null)
    {
        var labels = new Dictionary<string, string>
        {
            [ManagedBy] = Configuration.OperatorOptions.FieldManager,
            [PartOf] = "agentmeter",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) labels[k] = v;
        return labels;
    }

    public static Dictionary<string, string> AggregatorSelector() => new()
    {
        [Name] = Configuration.AggregatorOptions.Name,
        [Component] = "aggregator",
    };

    public static Dictionary<string, string> Aggregator(IReadOnlyDictionary<string, string>? extra = null)
    {
        var labels = Common(extra);
        foreach (var (k, v) in AggregatorSelector()) labels[k] = v;
        return labels;
    }
}
