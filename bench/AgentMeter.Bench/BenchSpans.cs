using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.Otlp.Proto.Common;
using AgentMeter.Aggregator.Otlp.Proto.Resource;
using AgentMeter.Aggregator.Otlp.Proto.Trace;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Status = AgentMeter.Aggregator.Otlp.Proto.Trace.Status;

namespace AgentMeter.Bench;

/// <summary>The generated tool calls as an MCP client's OpenTelemetry spans, and an OTLP/gRPC client that sends them as they are.</summary>
public static class BenchSpans
{
    /// <summary>
    /// A batch as one OTLP <c>ExportTraceServiceRequest</c>: one client span per tool call with the
    /// GenAI/MCP attributes an instrumented agent runtime sets, ids derived from the event id.
    /// </summary>
    public static byte[] Protobuf(IEnumerable<BenchEvent> batch)
    {
        var scope = new ScopeSpans();
        foreach (var e in batch)
        {
            var start = (ulong)(e.Time - DateTime.UnixEpoch).Ticks * 100;
            var id = System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(e.EventId));
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(id), SpanId = ByteString.CopyFrom(id, 0, 8), Name = $"tools/call {e.Tool}", Kind = Span.Types.SpanKind.Client,
                StartTimeUnixNano = start, EndTimeUnixNano = start + (ulong)(e.LatencyMs * 1_000_000),
                Status = new Status { Code = e.Success ? Status.Types.StatusCode.Unset : Status.Types.StatusCode.Error },
            };
            span.Attributes.Add(Text("mcp.method.name", "tools/call"));
            span.Attributes.Add(Text("gen_ai.operation.name", "execute_tool"));
            span.Attributes.Add(Text("gen_ai.tool.name", e.Tool));
            span.Attributes.Add(Text("server.address", e.Server));
            span.Attributes.Add(Text("gen_ai.agent.name", e.Agent));
            span.Attributes.Add(Text("user.id", e.User));
            span.Attributes.Add(Text("tenant.id", e.Tenant));
            span.Attributes.Add(Text("mcp.session.id", $"{e.Agent}-session"));
            span.Attributes.Add(Text("network.transport", "tcp"));
            if (e.InputTokens is { } input) span.Attributes.Add(new KeyValue { Key = "gen_ai.usage.input_tokens", Value = new AnyValue { IntValue = input } });
            if (e.OutputTokens is { } output) span.Attributes.Add(new KeyValue { Key = "gen_ai.usage.output_tokens", Value = new AnyValue { IntValue = output } });
            scope.Spans.Add(span);
        }
        var resource = new Resource();
        resource.Attributes.Add(Text("service.name", "agents-runtime"));
        var request = new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { Resource = resource, ScopeSpans = { scope } } } };
        return request.ToByteArray();
    }

    private static KeyValue Text(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static readonly Method<byte[], byte[]> Export = new(MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export",
        Marshallers.Create<byte[]>(b => b, b => b), Marshallers.Create<byte[]>(b => b, b => b));

    /// <summary>Sends a serialised request over the channel; throws unless every span was accepted.</summary>
    public static async Task ExportAsync(GrpcChannel channel, byte[] request)
    {
        var reply = ExportTraceServiceResponse.Parser.ParseFrom(await channel.CreateCallInvoker().AsyncUnaryCall(Export, null, new CallOptions(), request));
        if (reply.PartialSuccess is { } partial) throw new InvalidOperationException($"{partial.RejectedSpans} spans rejected: {partial.ErrorMessage}");
    }
}
