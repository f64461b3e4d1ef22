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

    public static Dimension? Find(string name) => All.FirstOrDefault(d => d.Name == name);
}
