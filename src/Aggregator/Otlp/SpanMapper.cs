using System.Globalization;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.Otlp.Proto.Common;
using AgentMeter.Aggregator.Otlp.Proto.Resource;
using AgentMeter.Aggregator.Otlp.Proto.Trace;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Otlp;

/// <summary>
/// What the spans of one export request became: the events to store, how many spans were no tool
/// or model call (skipped), and how many were one but could not be stored (rejected), with a
/// message naming the first few and what each lacked.
/// </summary>
public sealed record MappedSpans(IReadOnlyList<UsageEvent> Events, int Skipped, int Rejected, string? RejectedMessage);

/// <summary>
/// Turns spans that follow the OpenTelemetry GenAI and MCP semantic conventions into events, by the
/// table of docs/otlp.md: a tool-call span (<c>gen_ai.operation.name = execute_tool</c> or
/// <c>mcp.method.name = tools/call</c>) into a tool_call, a model-call span (chat, text_completion,
/// generate_content, embeddings, and invoke_agent when it carries usage) into a model_call; every
/// other span is skipped. A tool or model call that lacks what its event needs is rejected on its
/// own, and its values pass the same checks as events posted as JSON.
/// </summary>
public sealed class SpanMapper(OtlpOptions options)
{
    /// <summary>Spans named in a partial-success message; the rest are counted.</summary>
    public const int MaxMessages = 10;

    private static readonly HashSet<string> ModelOperations = ["chat", "text_completion", "generate_content", "embeddings"];

    /// <summary>The request's spans as events; a <paramref name="stream"/> is offered them as they are mapped (<see cref="StreamedBatch.Offer"/>).</summary>
    public MappedSpans Map(ExportTraceServiceRequest request, DateTimeOffset now, TimeSpan maxSkew, StreamedBatch? stream = null)
    {
        var events = new List<UsageEvent>();
        var messages = new List<string>();
        var problems = new List<IngestProblem>();
        var errors = new List<string>();
        int skipped = 0, rejected = 0;
        foreach (var resourceSpans in request.ResourceSpans)
        {
            var resource = Resource(resourceSpans.Resource);
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            foreach (var span in scopeSpans.Spans)
            {
                problems.Clear();
                errors.Clear();
                var outcome = MapSpan(span, resource, now, maxSkew, problems, errors, out var ev);
                if (outcome == Outcome.Skipped) skipped++;
                else if (ev is not null)
                {
                    events.Add(ev);
                    stream?.Offer(events);
                }
                else
                {
                    rejected++;
                    if (messages.Count < MaxMessages) messages.Add($"span {Describe(span)}: {string.Join(", ", errors)}");
                }
            }
        }
        var message = rejected == 0 ? null
            : string.Join("; ", messages) + (rejected > messages.Count ? $"; and {rejected - messages.Count} more" : "");
        return new MappedSpans(events, skipped, rejected, message);
    }

    private enum Outcome { Skipped, Mapped }

    /// <summary>The attributes of the resource that a span may fall back on.</summary>
    private sealed record ResourceFacts(string? ServiceName, AnyValue? Tenant, AnyValue? User);

    private ResourceFacts Resource(Resource? resource)
    {
        AnyValue? service = null, tenant = null, user = null;
        foreach (var kv in resource?.Attributes ?? [])
        {
            if (kv.Key == options.TenantAttribute) tenant = kv.Value;
            else if (kv.Key == options.UserAttribute) user = kv.Value;
            else if (kv.Key == "service.name") service = kv.Value;
        }
        return new ResourceFacts(service?.ValueCase == AnyValue.ValueOneofCase.StringValue && service.StringValue.Length > 0 ? service.StringValue : null,
            tenant, user);
    }

    /// <summary>The span attributes the mapping reads (one pass over the span's attributes).</summary>
    private struct SpanAttributes
    {
        public AnyValue? Operation, McpMethod, ToolName, McpToolName, AgentId, AgentName, ServerAddress, ErrorType,
            ResponseModel, RequestModel, InputTokens, OutputTokens, CachedInputTokens, Tenant, User;
    }

    /// <summary>The span attributes read below: the protobuf reader keeps these (and the tenant and user attributes) only.</summary>
    public static readonly string[] SpanAttributeKeys =
    [
        "gen_ai.operation.name", "mcp.method.name", "gen_ai.tool.name", "mcp.tool.name", "gen_ai.agent.id", "gen_ai.agent.name", "server.address",
        "error.type", "gen_ai.response.model", "gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
    ];

    private SpanAttributes Attributes(Span span)
    {
        var a = new SpanAttributes();
        foreach (var kv in span.Attributes)
        {
            var key = kv.Key;
            if (key == options.TenantAttribute) { a.Tenant = kv.Value; continue; }
            if (key == options.UserAttribute) { a.User = kv.Value; continue; }
            switch (key)
            {
                case "gen_ai.operation.name": a.Operation = kv.Value; break;
                case "mcp.method.name": a.McpMethod = kv.Value; break;
                case "gen_ai.tool.name": a.ToolName = kv.Value; break;
                // Earlier drafts of the MCP conventions named the tool here.
                case "mcp.tool.name": a.McpToolName = kv.Value; break;
                case "gen_ai.agent.id": a.AgentId = kv.Value; break;
                case "gen_ai.agent.name": a.AgentName = kv.Value; break;
                case "server.address": a.ServerAddress = kv.Value; break;
                case "error.type": a.ErrorType = kv.Value; break;
                case "gen_ai.response.model": a.ResponseModel = kv.Value; break;
                case "gen_ai.request.model": a.RequestModel = kv.Value; break;
                case "gen_ai.usage.input_tokens": a.InputTokens = kv.Value; break;
                case "gen_ai.usage.output_tokens": a.OutputTokens = kv.Value; break;
                case "gen_ai.usage.cache_read.input_tokens": a.CachedInputTokens = kv.Value; break;
            }
        }
        return a;
    }

    /// <summary>Where each field of the event came from, to name it in a problem.</summary>
    private readonly record struct Sources(string Agent, string? Tool, string? Server, string? Model);

    /// <summary>
    /// Skipped, or mapped: <paramref name="ev"/> is the event, or null with what is wrong in
    /// <paramref name="errors"/>.
    /// </summary>
    private Outcome MapSpan(Span span, ResourceFacts resource, DateTimeOffset now, TimeSpan maxSkew, List<IngestProblem> problems,
        List<string> errors, out UsageEvent? ev)
    {
        ev = null;
        var a = Attributes(span);
        var operation = PlainText(a.Operation);
        var isTool = operation == "execute_tool" || PlainText(a.McpMethod) == "tools/call";
        var hasUsage = a.InputTokens is not null || a.OutputTokens is not null;
        var isModel = !isTool && operation is not null && (ModelOperations.Contains(operation) || operation == "invoke_agent" && hasUsage);
        if (!isTool && !isModel) return Outcome.Skipped;
        var kind = isTool ? (operation == "execute_tool" ? "gen_ai.operation.name=execute_tool" : "mcp.method.name=tools/call")
            : $"gen_ai.operation.name={operation}";

        if (span.TraceId.Length != 16 || span.TraceId.Span.IndexOfAnyExcept((byte)0) < 0) errors.Add("trace_id is not 16 bytes, not all zero");
        if (span.SpanId.Length != 8 || span.SpanId.Span.IndexOfAnyExcept((byte)0) < 0) errors.Add("span_id is not 8 bytes, not all zero");
        if (span.StartTimeUnixNano == 0) errors.Add("start_time_unix_nano is not set");
        else if (span.EndTimeUnixNano < span.StartTimeUnixNano)
            errors.Add($"end_time_unix_nano {span.EndTimeUnixNano} is before start_time_unix_nano {span.StartTimeUnixNano}");

        var (agent, agentSource) = Text(a.AgentId, "gen_ai.agent.id", errors) is { } id ? (id, "gen_ai.agent.id")
            : Text(a.AgentName, "gen_ai.agent.name", errors) is { } name ? (name, "gen_ai.agent.name")
            : (resource.ServiceName, "the resource's service.name");
        if (agent is null) errors.Add("has no gen_ai.agent.id, gen_ai.agent.name or resource attribute service.name to name its agent");
        var tenant = Text(a.Tenant, options.TenantAttribute, errors) ?? Text(resource.Tenant, options.TenantAttribute, errors);
        var user = Text(a.User, options.UserAttribute, errors) ?? Text(resource.User, options.UserAttribute, errors);
        var input = Count(a.InputTokens, "gen_ai.usage.input_tokens", errors);
        var output = Count(a.OutputTokens, "gen_ai.usage.output_tokens", errors);
        var cached = Count(a.CachedInputTokens, "gen_ai.usage.cache_read.input_tokens", errors);
        // Whole microseconds, as stored.
        var time = DateTimeOffset.UnixEpoch.AddTicks((long)(span.StartTimeUnixNano / 1000) * (TimeSpan.TicksPerMillisecond / 1000));

        UsageEvent candidate;
        Sources sources;
        if (isTool)
        {
            var (tool, toolSource) = Text(a.ToolName, "gen_ai.tool.name", errors) is { } t ? (t, "gen_ai.tool.name")
                : Text(a.McpToolName, "mcp.tool.name", errors) is { } m ? (m, "mcp.tool.name")
                : (ToolInName(span.Name), "the span name");
            if (tool is null)
                errors.Add($"a tool call ({kind}) without gen_ai.tool.name, and its name does not name the tool (\"tools/call <tool>\" or \"execute_tool <tool>\")");
            // The server a client called; a server span is the MCP server itself.
            var (server, serverSource) = span.Kind == Span.Types.SpanKind.Server
                ? (resource.ServiceName, "the resource's service.name")
                : (Text(a.ServerAddress, "server.address", errors), "server.address");
            var failed = span.Status?.Code == Status.Types.StatusCode.Error || !string.IsNullOrEmpty(Text(a.ErrorType, "error.type", errors));
            candidate = new UsageEvent
            {
                Type = EventTypes.ToolCall, Time = time, EventId = EventId(span), AgentId = agent, ToolName = tool, ServerLabel = server,
                UserId = user, TenantId = tenant, Status = failed ? "failure" : "success",
                LatencyMs = (span.EndTimeUnixNano - span.StartTimeUnixNano) / 1e6,
                InputTokens = input, OutputTokens = output, CachedInputTokens = cached,
            };
            sources = new Sources(agentSource, toolSource, serverSource, null);
        }
        else
        {
            var (model, modelSource) = Text(a.ResponseModel, "gen_ai.response.model", errors) is { } r ? (r, "gen_ai.response.model")
                : (Text(a.RequestModel, "gen_ai.request.model", errors), "gen_ai.request.model");
            if (model is null) errors.Add($"a model call ({kind}) without gen_ai.response.model or gen_ai.request.model");
            if (input is null && output is null && a.InputTokens is null && a.OutputTokens is null)
                errors.Add($"a model call ({kind}) without gen_ai.usage.input_tokens or gen_ai.usage.output_tokens");
            // A count the span does not carry is zero: embeddings report input tokens only.
            candidate = new UsageEvent
            {
                Type = EventTypes.ModelCall, Time = time, EventId = EventId(span), AgentId = agent, Model = model,
                UserId = user, TenantId = tenant, InputTokens = input ?? 0, OutputTokens = output ?? 0, CachedInputTokens = cached,
            };
            sources = new Sources(agentSource, null, null, modelSource);
        }

        if (errors.Count > 0) return Outcome.Mapped;
        ev = EventValidator.Check(candidate, 0, now, maxSkew, problems);
        foreach (var p in problems) errors.Add($"{Source(p.Field, sources)} {p.Problem}");
        return Outcome.Mapped;
    }

    /// <summary>The attribute (or span field) an event field was read from.</summary>
    private string Source(string field, Sources sources) => field switch
    {
        "agent_id" => sources.Agent,
        "tool_name" => sources.Tool ?? field,
        "server_label" => sources.Server ?? field,
        "model" => sources.Model ?? field,
        "tenant_id" => options.TenantAttribute,
        "user_id" => options.UserAttribute,
        "input_tokens" => "gen_ai.usage.input_tokens",
        "output_tokens" => "gen_ai.usage.output_tokens",
        "cached_input_tokens" => "gen_ai.usage.cache_read.input_tokens",
        "time" => "start_time_unix_nano",
        "latency_ms" => "end_time_unix_nano - start_time_unix_nano",
        _ => field,
    };

    /// <summary>A re-export of the same span is stored once: the trace id and span id in lowercase hex.</summary>
    private static string? EventId(Span span)
    {
        if (span.TraceId.Length != 16 || span.SpanId.Length != 8) return null; // rejected for that
        Span<byte> id = stackalloc byte[24];
        span.TraceId.Span.CopyTo(id);
        span.SpanId.Span.CopyTo(id[16..]);
        return Convert.ToHexStringLower(id);
    }

    /// <summary>The tool a span name such as "tools/call get-weather" or "execute_tool get_weather" names.</summary>
    private static string? ToolInName(string name)
    {
        foreach (var prefix in (ReadOnlySpan<string>)["tools/call ", "execute_tool "])
            if (name.StartsWith(prefix, StringComparison.Ordinal) && name[prefix.Length..].Trim() is { Length: > 0 } tool)
                return tool;
        return null;
    }

    /// <summary>A string attribute as it is, or null (absent or of another type).</summary>
    private static string? PlainText(AnyValue? value) =>
        value?.ValueCase == AnyValue.ValueOneofCase.StringValue ? value.StringValue : null;

    /// <summary>A name: a string, or an integer in decimal; null when absent or empty; any other type is an error.</summary>
    private static string? Text(AnyValue? value, string attribute, List<string> errors)
    {
        switch (value?.ValueCase)
        {
            case null or AnyValue.ValueOneofCase.None: return null;
            case AnyValue.ValueOneofCase.StringValue: return value.StringValue.Length == 0 ? null : value.StringValue;
            case AnyValue.ValueOneofCase.IntValue: return value.IntValue.ToString(CultureInfo.InvariantCulture);
            default:
                errors.Add($"{attribute} is a {TypeName(value)}, not a string");
                return null;
        }
    }

    /// <summary>A token count: an integer (also as a whole double or a decimal string, as some SDKs send it); null when absent.</summary>
    private static long? Count(AnyValue? value, string attribute, List<string> errors)
    {
        switch (value?.ValueCase)
        {
            case null or AnyValue.ValueOneofCase.None: return null;
            case AnyValue.ValueOneofCase.IntValue: return value.IntValue;
            case AnyValue.ValueOneofCase.DoubleValue when double.IsInteger(value.DoubleValue) && Math.Abs(value.DoubleValue) < 9e18:
                return (long)value.DoubleValue;
            case AnyValue.ValueOneofCase.StringValue when long.TryParse(value.StringValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n):
                return n;
            default:
                errors.Add($"{attribute} is {Show(value)}, not a whole number");
                return null;
        }
    }

    private static string TypeName(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.BoolValue => "boolean",
        AnyValue.ValueOneofCase.DoubleValue => "double",
        _ => "string",
    };

    private static string Show(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => $"the string \"{Shorten(value.StringValue)}\"",
        AnyValue.ValueOneofCase.DoubleValue => $"the double {value.DoubleValue.ToString(CultureInfo.InvariantCulture)}",
        _ => $"the boolean {(value.BoolValue ? "true" : "false")}",
    };

    /// <summary>A span as a reader finds it in a trace view: trace id/span id and its name.</summary>
    private static string Describe(Span span) =>
        $"{Convert.ToHexStringLower(span.TraceId.Span)}/{Convert.ToHexStringLower(span.SpanId.Span)} \"{Shorten(span.Name)}\"";

    private static string Shorten(string s) => s.Length > 60 ? s[..57] + "..." : s;
}
