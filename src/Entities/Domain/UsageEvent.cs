namespace AgentMeter.Entities.Domain;

/// <summary>Event types of <c>POST /api/v1/events</c>.</summary>
public static class EventTypes
{
    public const string ToolCall = "tool_call";
    public const string AgentRequest = "agent_request";
    public const string CircuitBreaker = "circuit_breaker";
    public const string SseConnection = "sse_connection";
    /// <summary>A call of an agent to a model: its tokens and cost count, it is not a tool call.</summary>
    public const string ModelCall = "model_call";
    public static readonly IReadOnlyList<string> All = [ToolCall, AgentRequest, CircuitBreaker, SseConnection, ModelCall];
}

/// <summary>One validated event, as stored in <c>usage_events</c>.</summary>
public sealed record UsageEvent
{
    public required string Type { get; init; }
    public required DateTimeOffset Time { get; init; }
    public string? EventId { get; init; }
    public string? AgentId { get; init; }
    public string? ToolName { get; init; }
    public string? ServerLabel { get; init; }
    public string? UserId { get; init; }
    public string? TenantId { get; init; }
    public string? Model { get; init; }
    /// <summary>tool_call: success | failure (model_call: none).</summary>
    public string? Status { get; init; }
    public double? LatencyMs { get; init; }
    public long? RequestBytes { get; init; }
    public long? ResponseBytes { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public long? CachedInputTokens { get; init; }
    /// <summary>agent_request.</summary>
    public string? Method { get; init; }
    /// <summary>circuit_breaker: closed | open | half_open; sse_connection: opened | closed.</summary>
    public string? State { get; init; }
}
