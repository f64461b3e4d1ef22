using System.IO.Compression;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.Otlp.Proto.Common;
using AgentMeter.Aggregator.Otlp.Proto.Resource;
using AgentMeter.Aggregator.Otlp.Proto.Trace;
using Proto = AgentMeter.Aggregator.Otlp.Proto;
using Google.Protobuf;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>Hand-written OTLP requests for the edge cases: spans with chosen ids, times and attributes.</summary>
public static class OtlpBodies
{
    public static readonly DateTimeOffset Day = new(2026, 10, 12, 8, 0, 0, TimeSpan.Zero);

    private static int _next;

    /// <summary>A span with fresh ids, starting at <see cref="Day"/> plus <paramref name="seconds"/>.</summary>
    public static Span NewSpan(string name, int seconds, int durationMs, params (string Key, object Value)[] attributes)
    {
        var n = Interlocked.Increment(ref _next);
        var start = (ulong)(Day.AddSeconds(seconds).ToUnixTimeMilliseconds() * 1_000_000);
        var span = new Proto.Trace.Span
        {
            TraceId = ByteString.CopyFrom(Convert.FromHexString($"0af7651916cd43dd8448eb21{n:x8}")),
            SpanId = ByteString.CopyFrom(Convert.FromHexString($"b7ad6b71{n:x8}")),
            Name = name, Kind = Proto.Trace.Span.Types.SpanKind.Client,
            StartTimeUnixNano = start, EndTimeUnixNano = start + (ulong)durationMs * 1_000_000,
        };
        span.Attributes.AddRange(attributes.Select(a => Attribute(a.Key, a.Value)));
        return span;
    }

    /// <summary>An MCP client tool call of <paramref name="tool"/> on server github by agent bot.</summary>
    public static Span ToolCall(string tool, int seconds = 0, int durationMs = 100) =>
        NewSpan($"tools/call {tool}", seconds, durationMs, ("mcp.method.name", "tools/call"), ("gen_ai.tool.name", tool),
            ("server.address", "github"), ("gen_ai.agent.name", "bot"));

    public static KeyValue Attribute(string key, object value) => new()
    {
        Key = key,
        Value = value switch
        {
            string s => new AnyValue { StringValue = s },
            long l => new AnyValue { IntValue = l },
            int i => new AnyValue { IntValue = i },
            double d => new AnyValue { DoubleValue = d },
            bool b => new AnyValue { BoolValue = b },
            _ => throw new ArgumentException($"no AnyValue for {value.GetType()}"),
        },
    };

    /// <summary>A request with one resource (service.name agents, tenant acme) holding the spans.</summary>
    public static ExportTraceServiceRequest Request(params Span[] spans)
    {
        var scope = new ScopeSpans();
        scope.Spans.AddRange(spans);
        var resource = new Resource();
        resource.Attributes.Add(Attribute("service.name", "agents"));
        resource.Attributes.Add(Attribute("tenant.id", "acme"));
        var resourceSpans = new ResourceSpans { Resource = resource };
        resourceSpans.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }

    public static string Hex(ByteString id) => Convert.ToHexStringLower(id.Span);

    public static byte[] Gzip(byte[] body)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize)) gzip.Write(body);
        return buffer.ToArray();
    }

    /// <summary>A protobuf field header: field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).</summary>
    public static byte[] Tag(int field, int wireType) => Varint((ulong)(field << 3 | wireType));

    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7f);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        } while (value != 0);
        return [.. bytes];
    }

    /// <summary>A length-delimited field.</summary>
    public static byte[] Field(int field, byte[] content) => [.. Tag(field, 2), .. Varint((ulong)content.Length), .. content];
}
