namespace AgentMeter.Aggregator.Analytics;

/// <summary>A <c>group_by</c> value and the usage_stats column it groups on.</summary>
public sealed record Dimension(string Name, string Column)
{
    public static readonly IReadOnlyList<Dimension> All =
    [
        new("agent", "agent_id"),
        new("tenant", "tenant_id"),
        new("user", "user_id"),
        new("server", "mcp_server_label"),
        new("tool", "tool_name"),
        new("model", "model"),
    ];

    public static readonly Dimension Default = All[0];
    /// <summary>Holds every usage row exactly once (each row has one tenant, '' if none): totals and per-day series.</summary>
    public static readonly Dimension Tenant = All[1];
    public static readonly Dimension Tool = All[4];
    public static readonly Dimension Model = All[5];

    public static Dimension? Find(string name) => All.FirstOrDefault(d => d.Name == name);
}
