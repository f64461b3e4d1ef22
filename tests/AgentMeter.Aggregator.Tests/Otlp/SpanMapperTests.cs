using AgentMeter.Aggregator.Otlp;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.Otlp.Proto.Trace;
using AgentMeter.Entities.Domain;
using Google.Protobuf;
using static AgentMeter.Aggregator.Tests.Otlp.OtlpBodies;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>The mapping table of docs/otlp.md, row by row: which span becomes which event, from which attribute.</summary>
public class SpanMapperTests
{
    private static readonly DateTimeOffset Now = Day.AddDays(1);

    /// <summary>Through the wire and the protobuf reader, which keeps only the attributes the mapping reads.</summary>
    private static MappedSpans Map(ExportTraceServiceRequest request, OtlpOptions? options = null)
    {
        options ??= new OtlpOptions();
        var read = new OtlpProtobufReader(options).Read(request.ToByteArray());
        return new SpanMapper(options).Map(read, Now, TimeSpan.FromMinutes(5));
    }

    private static UsageEvent One(params Span[] spans)
    {
        var mapped = Map(Request(spans));
        Assert.Null(mapped.RejectedMessage);
        return Assert.Single(mapped.Events);
    }

    private static string Rejected(Span span, OtlpOptions? options = null)
    {
        var mapped = Map(Request(span), options);
        Assert.Empty(mapped.Events);
        Assert.Equal(1, mapped.Rejected);
        return mapped.RejectedMessage!;
    }

    private static Span Tool(params (string, object)[] attributes) => NewSpan("tools/call", 0, 150, [("mcp.method.name", "tools/call"), .. attributes]);

    private static Span Model(string operation, params (string, object)[] attributes) =>
        NewSpan($"{operation} m", 0, 900, [("gen_ai.operation.name", operation), .. attributes]);

    [Fact]
    public void AToolCallSpanBecomesAToolCallWithItsIdTimeAndLatency()
    {
        var span = NewSpan("execute_tool lookup", 0, 1234, ("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", "lookup"));
        span.StartTimeUnixNano += 789; // below a microsecond: dropped, as PostgreSQL stores time

        var e = One(span);

        Assert.Equal(EventTypes.ToolCall, e.Type);
        Assert.Equal(Hex(span.TraceId) + Hex(span.SpanId), e.EventId);
        Assert.Equal(48, e.EventId!.Length);
        Assert.Equal(Day, e.Time);
        Assert.Equal((1234 * 1_000_000 - 789) / 1e6, e.LatencyMs);
        Assert.Equal(("lookup", "agents", "acme", "success"), (e.ToolName, e.AgentId, e.TenantId, e.Status));
    }

    [Theory]
    [InlineData("gen_ai.tool.name", "search", "tools/call other", "search")]
    [InlineData("mcp.tool.name", "search", "tools/call other", "search")]
    [InlineData("x.unrelated", "search", "tools/call get-weather", "get-weather")]
    [InlineData("x.unrelated", "search", "execute_tool get_weather ", "get_weather")]
    public void TheToolNameComesFromGenAiToolNameThenMcpToolNameThenTheSpanName(string key, string value, string spanName, string expected)
    {
        var span = NewSpan(spanName, 0, 10, ("mcp.method.name", "tools/call"), (key, value));
        Assert.Equal(expected, One(span).ToolName);
    }

    [Fact]
    public void ANamelessToolSpanIsRejectedNamingTheAttribute() =>
        Assert.Contains("a tool call (mcp.method.name=tools/call) without gen_ai.tool.name", Rejected(Tool()));

    [Fact]
    public void TheAgentIsGenAiAgentIdThenGenAiAgentNameThenTheServiceName()
    {
        Assert.Equal("asst_1", One(Tool(("gen_ai.tool.name", "t"), ("gen_ai.agent.id", "asst_1"), ("gen_ai.agent.name", "Math Tutor"))).AgentId);
        Assert.Equal("Math Tutor", One(Tool(("gen_ai.tool.name", "t"), ("gen_ai.agent.name", "Math Tutor"))).AgentId);
        Assert.Equal("agents", One(Tool(("gen_ai.tool.name", "t"))).AgentId);
        var request = Request(Tool(("gen_ai.tool.name", "t")));
        request.ResourceSpans[0].Resource.Attributes.RemoveAt(0); // no service.name
        Assert.Contains("has no gen_ai.agent.id, gen_ai.agent.name or resource attribute service.name", Map(request).RejectedMessage);
    }

    [Fact]
    public void TheServerIsServerAddressOnClientSpansAndTheServiceOnServerSpans()
    {
        Assert.Equal("github.example", One(Tool(("gen_ai.tool.name", "t"), ("server.address", "github.example"))).ServerLabel);
        var server = Tool(("gen_ai.tool.name", "t"), ("server.address", "ignored"));
        server.Kind = Span.Types.SpanKind.Server;
        Assert.Equal("agents", One(server).ServerLabel);
        var local = Tool(("gen_ai.tool.name", "t"));
        local.Kind = Span.Types.SpanKind.Internal;
        Assert.Null(One(local).ServerLabel);
    }

    [Fact]
    public void TenantAndUserComeFromTheSpanElseTheResourceUnderConfigurableNames()
    {
        var e = One(Tool(("gen_ai.tool.name", "t"), ("user.id", "alice")));
        Assert.Equal(("acme", "alice"), (e.TenantId, e.UserId));
        Assert.Equal("globex", One(Tool(("gen_ai.tool.name", "t"), ("tenant.id", "globex"))).TenantId);
        // A numeric user id is taken as its decimal text.
        Assert.Equal("4711", One(Tool(("gen_ai.tool.name", "t"), ("user.id", 4711L))).UserId);

        var options = new OtlpOptions { TenantAttribute = "enduser.org", UserAttribute = "enduser.id" };
        var mapped = Map(Request(Tool(("gen_ai.tool.name", "t"), ("enduser.org", "initech"), ("enduser.id", "bob"), ("user.id", "alice"))), options);
        Assert.Equal(("initech", "bob"), (mapped.Events[0].TenantId, mapped.Events[0].UserId));
        Assert.Contains("enduser.org is a boolean, not a string", Rejected(Tool(("gen_ai.tool.name", "t"), ("enduser.org", true)), options));
    }

    [Fact]
    public void AToolCallFailsOnStatusErrorOrErrorType()
    {
        var error = Tool(("gen_ai.tool.name", "t"));
        error.Status = new Status { Code = Status.Types.StatusCode.Error };
        Assert.Equal("failure", One(error).Status);
        Assert.Equal("failure", One(Tool(("gen_ai.tool.name", "t"), ("error.type", "tool_error"))).Status);
        var ok = Tool(("gen_ai.tool.name", "t"));
        ok.Status = new Status { Code = Status.Types.StatusCode.Ok };
        Assert.Equal("success", One(ok).Status);
    }

    [Theory]
    [InlineData("chat")]
    [InlineData("text_completion")]
    [InlineData("generate_content")]
    [InlineData("embeddings")]
    public void AModelCallSpanBecomesAModelCallWithItsTokens(string operation)
    {
        var e = One(Model(operation, ("gen_ai.request.model", "gpt-4o"), ("gen_ai.response.model", "gpt-4o-2024-08-06"),
            ("gen_ai.usage.input_tokens", 1200L), ("gen_ai.usage.output_tokens", 300L), ("gen_ai.usage.cache_read.input_tokens", 400L),
            ("gen_ai.agent.name", "bot"), ("server.address", "api.openai.com")));
        Assert.Equal((EventTypes.ModelCall, "gpt-4o-2024-08-06", 1200L, 300L, 400L, "bot"),
            (e.Type, e.Model, e.InputTokens, e.OutputTokens, e.CachedInputTokens, e.AgentId));
        // Not a tool call: no tool, server, status or latency.
        Assert.Equal((null, null, null, (double?)null), (e.ToolName, e.ServerLabel, e.Status, e.LatencyMs));
    }

    [Fact]
    public void ModelTokensAndTheirValueTypes()
    {
        Assert.Equal("gpt-4o", One(Model("chat", ("gen_ai.request.model", "gpt-4o"), ("gen_ai.usage.input_tokens", 1L))).Model);
        // Embeddings report input tokens only: the output is zero.
        var embeddings = One(Model("embeddings", ("gen_ai.request.model", "e"), ("gen_ai.usage.input_tokens", 5000L)));
        Assert.Equal((5000L, 0L), (embeddings.InputTokens, embeddings.OutputTokens));
        // Some SDKs send counts as whole doubles or decimal strings.
        var loose = One(Model("chat", ("gen_ai.request.model", "m"), ("gen_ai.usage.input_tokens", 12.0), ("gen_ai.usage.output_tokens", "7")));
        Assert.Equal((12L, 7L), (loose.InputTokens, loose.OutputTokens));

        Assert.Contains("a model call (gen_ai.operation.name=chat) without gen_ai.response.model or gen_ai.request.model",
            Rejected(Model("chat", ("gen_ai.usage.input_tokens", 1L))));
        Assert.Contains("a model call (gen_ai.operation.name=chat) without gen_ai.usage.input_tokens or gen_ai.usage.output_tokens",
            Rejected(Model("chat", ("gen_ai.request.model", "m"))));
        Assert.Contains("gen_ai.usage.input_tokens is the string \"many\", not a whole number",
            Rejected(Model("chat", ("gen_ai.request.model", "m"), ("gen_ai.usage.input_tokens", "many"))));
        Assert.Contains("gen_ai.usage.input_tokens -5 is not a whole number from 0 to 100000000",
            Rejected(Model("chat", ("gen_ai.request.model", "m"), ("gen_ai.usage.input_tokens", -5L))));
        Assert.Contains("gen_ai.usage.cache_read.input_tokens 9 is more than input_tokens 3",
            Rejected(Model("chat", ("gen_ai.request.model", "m"), ("gen_ai.usage.input_tokens", 3L), ("gen_ai.usage.cache_read.input_tokens", 9L))));
    }

    [Fact]
    public void InvokeAgentIsAModelCallOnlyWhenItCarriesUsage()
    {
        var mapped = Map(Request(
            Model("invoke_agent", ("gen_ai.request.model", "claude"), ("gen_ai.usage.output_tokens", 50L)),
            Model("invoke_agent", ("gen_ai.request.model", "claude"))));
        var e = Assert.Single(mapped.Events);
        Assert.Equal((EventTypes.ModelCall, 0L, 50L), (e.Type, e.InputTokens, e.OutputTokens));
        Assert.Equal(1, mapped.Skipped);
    }

    [Fact]
    public void EveryOtherSpanIsSkippedNeverRejected()
    {
        var mapped = Map(Request(
            NewSpan("GET /", 0, 5, ("http.request.method", "GET")),
            Model("create_agent", ("gen_ai.request.model", "m")),
            Model("retrieval", ("gen_ai.usage.input_tokens", 3L)),
            NewSpan("tools/list", 0, 5, ("mcp.method.name", "tools/list")),
            NewSpan("no attributes", 0, 5)));
        Assert.Equal((0, 5, 0), (mapped.Events.Count, mapped.Skipped, mapped.Rejected));
    }

    [Fact]
    public void SpansWithoutValidIdsOrTimesAreRejected()
    {
        var noIds = Tool(("gen_ai.tool.name", "t"));
        noIds.TraceId = ByteString.CopyFrom(new byte[16]);
        noIds.SpanId = ByteString.CopyFrom([1, 2, 3]);
        var message = Rejected(noIds);
        Assert.Contains("trace_id is not 16 bytes, not all zero", message);
        Assert.Contains("span_id is not 8 bytes, not all zero", message);

        var unset = Tool(("gen_ai.tool.name", "t"));
        unset.StartTimeUnixNano = 0;
        Assert.Contains("start_time_unix_nano is not set", Rejected(unset));

        var future = Tool(("gen_ai.tool.name", "t"));
        future.StartTimeUnixNano = (ulong)Now.AddHours(1).ToUnixTimeMilliseconds() * 1_000_000;
        future.EndTimeUnixNano = future.StartTimeUnixNano + 1;
        Assert.Contains("start_time_unix_nano", Rejected(future));
        Assert.Contains("ahead of the server clock", Rejected(future));
    }

    [Fact]
    public void ThePartialSuccessMessageNamesTheFirstTenRejectedSpansAndCountsTheRest()
    {
        var spans = Enumerable.Range(0, 13).Select(i => NewSpan("tools/call", i, 1, ("mcp.method.name", "tools/call"))).ToArray();
        var mapped = Map(Request(spans));
        Assert.Equal(13, mapped.Rejected);
        Assert.Equal(SpanMapper.MaxMessages, mapped.RejectedMessage!.Split("; span ").Length);
        Assert.EndsWith("; and 3 more", mapped.RejectedMessage);
    }
}
