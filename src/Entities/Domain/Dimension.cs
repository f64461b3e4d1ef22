using AgentMeter.Entities.Resources;

namespace AgentMeter.Entities.Domain;

/// <summary>
/// A usage dimension, the one list every other is derived from: analytics <c>group_by</c> and UsageAlert
/// <c>groupBy</c> values, the usage_stats and usage_events columns, the label of the domain metrics that carry it,
/// and the UsageAlert <c>spec.filter</c> field. Adding a dimension is adding it here (and its columns in SQL).
/// </summary>
public sealed class Dimension
{
    private Dimension(string name, string column, string eventColumn, string? metricLabel, string filterField, Func<AlertFilter, string?> filterValue)
    {
        Name = name;
        Column = column;
        EventColumn = eventColumn;
        MetricLabel = metricLabel;
        FilterField = filterField;
        FilterValue = filterValue;
    }

    /// <summary>The name in <c>group_by</c>, <c>groupBy</c> and the usage_stats_by_dimension rows.</summary>
    public string Name { get; }
    /// <summary>The usage_stats (and usage_stats_monthly) column.</summary>
    public string Column { get; }
    /// <summary>The usage_events column ('' in usage_stats stands for its NULL).</summary>
    public string EventColumn { get; }
    /// <summary>The label of the registry_* metrics that carry this dimension; null when none does.</summary>
    public string? MetricLabel { get; }
    /// <summary>The field of a UsageAlert's <c>spec.filter</c>.</summary>
    public string FilterField { get; }
    /// <summary>Reads <see cref="FilterField"/> from a filter (null: not filtered on).</summary>
    public Func<AlertFilter, string?> FilterValue { get; }
    /// <summary>The position in <see cref="All"/>.</summary>
    public int Index { get; private set; }

    public static readonly Dimension Agent = new("agent", "agent_id", "agent_id", "agent_id", "agentId", f => f.AgentId);
    /// <summary>Holds every usage row exactly once (each row has one tenant, '' if none): totals and per-day series.</summary>
    public static readonly Dimension Tenant = new("tenant", "tenant_id", "tenant_id", null, "tenantId", f => f.TenantId);
    public static readonly Dimension User = new("user", "user_id", "user_id", null, "userId", f => f.UserId);
    public static readonly Dimension Tool = new("tool", "tool_name", "tool_name", "tool", "toolName", f => f.ToolName);
    public static readonly Dimension Server = new("server", "mcp_server_label", "server_label", "server", "serverLabel", f => f.ServerLabel);
    public static readonly Dimension Model = new("model", "model", "model", "model", "model", f => f.Model);

    public static readonly IReadOnlyList<Dimension> All = Numbered(Agent, Tenant, User, Tool, Server, Model);

    /// <summary>The analytics <c>group_by</c> when none is given.</summary>
    public static readonly Dimension Default = Agent;

    public static Dimension? Find(string name) => All.FirstOrDefault(d => d.Name == name);

    public override string ToString() => Name;

    private static Dimension[] Numbered(params Dimension[] all)
    {
        for (var i = 0; i < all.Length; i++) all[i].Index = i;
        return all;
    }
}
