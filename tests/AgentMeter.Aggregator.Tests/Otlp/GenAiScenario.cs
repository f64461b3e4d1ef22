namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>One span as an instrumented agent runtime makes it (attribute values are strings or longs).</summary>
public sealed record SpanSpec(string Name, string Kind, DateTimeOffset Start, TimeSpan Duration, IReadOnlyDictionary<string, object> Attributes, bool Error = false);

/// <summary>
/// A day of an agent runtime's spans following the GenAI and MCP semantic conventions — MCP client
/// tool calls, execute_tool spans, chat / embeddings / invoke_agent model calls, and spans that are
/// neither — with what AgentMeter must make of them: calls and failures per tool, tokens per model
/// and cost per agent at <see cref="RatesYaml"/>. The .NET and JS SDK tests send these spans and
/// compare the aggregated day with these figures.
/// </summary>
public sealed class GenAiScenario(DateOnly day)
{
    public const string Service = "agents-runtime", Tenant = "acme", Agent = "support-bot";

    /// <summary>Resource attributes: the service (the agent of spans that name none) and the tenant.</summary>
    public static readonly IReadOnlyDictionary<string, object> Resource = new Dictionary<string, object> { ["service.name"] = Service, ["tenant.id"] = Tenant };

    /// <summary>Prices per million tokens: gpt-4o 2.50 in, 1.25 cached in, 10 out; claude-sonnet-4-5 3 / 15; text-embedding-3-small 0.02.</summary>
    public string RatesYaml =>
        $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata: {"{"}name: gpt-4o{"}"}
        spec: {"{"}model: gpt-4o, currency: USD, inputPerMillionTokens: "2.50", cachedInputPerMillionTokens: "1.25", outputPerMillionTokens: "10", effectiveFrom: "{day.AddDays(-30):yyyy-MM-dd}"{"}"}
        ---
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata: {"{"}name: claude-sonnet-4-5{"}"}
        spec: {"{"}model: claude-sonnet-4-5, currency: USD, inputPerMillionTokens: "3", outputPerMillionTokens: "15", effectiveFrom: "{day.AddDays(-30):yyyy-MM-dd}"{"}"}
        ---
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata: {"{"}name: text-embedding-3-small{"}"}
        spec: {"{"}model: text-embedding-3-small, currency: USD, inputPerMillionTokens: "0.02", outputPerMillionTokens: "0", effectiveFrom: "{day.AddDays(-30):yyyy-MM-dd}"{"}"}
        """;

    public IReadOnlyList<SpanSpec> Spans { get; } = Make(day);

    /// <summary>(calls, failures) per tool after aggregation.</summary>
    public static readonly IReadOnlyDictionary<string, (long Calls, long Failures)> ToolCalls = new Dictionary<string, (long, long)>
    {
        ["search_issues"] = (5, 1), // one result with isError, recorded as error.type
        ["create_issue"] = (3, 1),  // one span with status ERROR
        ["get_weather"] = (2, 0),   // execute_tool spans that name the tool in the span name only
    };

    /// <summary>(input, output) tokens per model.</summary>
    public static readonly IReadOnlyDictionary<string, (long Input, long Output)> ModelTokens = new Dictionary<string, (long, long)>
    {
        ["gpt-4o"] = (3 * 1200, 3 * 300),
        ["claude-sonnet-4-5"] = (800, 120),
        ["text-embedding-3-small"] = (5000, 0),
    };

    /// <summary>Cost per agent, computed here from the rates above.</summary>
    public static readonly IReadOnlyDictionary<string, decimal> CostPerAgent = new Dictionary<string, decimal>
    {
        // 3 chats of gpt-4o (1,200 in of which 400 cached, 300 out) and one invoke_agent on claude.
        [Agent] = 3 * ((1200 - 400) * 2.50m + 400 * 1.25m + 300 * 10m) / 1_000_000 + (800 * 3m + 120 * 15m) / 1_000_000,
        // The embeddings span names no agent: the resource's service.name is its agent.
        [Service] = 5000 * 0.02m / 1_000_000,
    };

    /// <summary>Spans that are no tool or model call: an HTTP request and an invoke_agent span without usage.</summary>
    public const int Skipped = 2;

    private static IReadOnlyList<SpanSpec> Make(DateOnly day)
    {
        var at = new DateTimeOffset(day.ToDateTime(new TimeOnly(9, 0)), TimeSpan.Zero);
        var spans = new List<SpanSpec>();
        var n = 0;
        SpanSpec Add(string name, string kind, int ms, Dictionary<string, object> attributes, bool error = false)
        {
            var span = new SpanSpec(name, kind, at.AddSeconds(17 * n++), TimeSpan.FromMilliseconds(ms), attributes, error);
            spans.Add(span);
            return span;
        }

        Dictionary<string, object> McpCall(string tool, string user) => new()
        {
            ["mcp.method.name"] = "tools/call", ["gen_ai.operation.name"] = "execute_tool", ["gen_ai.tool.name"] = tool,
            ["server.address"] = "github", ["gen_ai.agent.name"] = Agent, ["user.id"] = user,
        };
        for (var i = 0; i < 5; i++)
        {
            var search = McpCall("search_issues", i % 2 == 0 ? "alice" : "bob");
            if (i == 3) search["error.type"] = "tool_error";
            Add("tools/call search_issues", "client", 120 + 10 * i, search);
        }
        for (var i = 0; i < 3; i++) Add("tools/call create_issue", "client", 300, McpCall("create_issue", "alice"), error: i == 1);
        for (var i = 0; i < 2; i++)
            Add("execute_tool get_weather", "internal", 45, new() { ["gen_ai.operation.name"] = "execute_tool", ["gen_ai.agent.name"] = Agent, ["user.id"] = "bob" });
        for (var i = 0; i < 3; i++)
            Add("chat gpt-4o", "client", 900, new()
            {
                ["gen_ai.operation.name"] = "chat", ["gen_ai.request.model"] = "gpt-4o", ["gen_ai.response.model"] = "gpt-4o",
                ["gen_ai.usage.input_tokens"] = 1200L, ["gen_ai.usage.output_tokens"] = 300L, ["gen_ai.usage.cache_read.input_tokens"] = 400L,
                ["gen_ai.agent.name"] = Agent, ["user.id"] = "alice", ["server.address"] = "api.openai.com",
            });
        Add("invoke_agent support-bot", "client", 2000, new()
        {
            ["gen_ai.operation.name"] = "invoke_agent", ["gen_ai.agent.name"] = Agent, ["gen_ai.request.model"] = "claude-sonnet-4-5",
            ["gen_ai.usage.input_tokens"] = 800L, ["gen_ai.usage.output_tokens"] = 120L, ["user.id"] = "bob",
        });
        Add("embeddings text-embedding-3-small", "client", 80, new()
        {
            ["gen_ai.operation.name"] = "embeddings", ["gen_ai.request.model"] = "text-embedding-3-small", ["gen_ai.usage.input_tokens"] = 5000L,
        });
        Add("invoke_agent support-bot", "internal", 2500, new() { ["gen_ai.operation.name"] = "invoke_agent", ["gen_ai.agent.name"] = Agent });
        Add("GET /health", "server", 2, new() { ["http.request.method"] = "GET", ["url.path"] = "/health" });
        return spans;
    }
}
