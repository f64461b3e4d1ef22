using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Alerts;

/// <summary>The six usage dimensions of a row ('' when absent), as in usage_stats.</summary>
public readonly record struct UsageDimensions(string Agent, string Tool, string Server, string User, string Tenant, string Model)
{
    /// <summary>Value of a groupBy dimension (agent, tenant, user, tool, server, model).</summary>
    public string Of(string groupBy) => groupBy switch
    {
        "agent" => Agent,
        "tenant" => Tenant,
        "user" => User,
        "tool" => Tool,
        "server" => Server,
        "model" => Model,
        _ => "",
    };

    public bool Matches(AlertFilter f) =>
        (f.AgentId is null || f.AgentId == Agent) && (f.TenantId is null || f.TenantId == Tenant) &&
        (f.UserId is null || f.UserId == User) && (f.ToolName is null || f.ToolName == Tool) &&
        (f.ServerLabel is null || f.ServerLabel == Server) && (f.Model is null || f.Model == Model);
}
