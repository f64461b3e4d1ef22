using AgentMeter.Aggregator.Otlp;
using Google.Protobuf;
using static AgentMeter.Aggregator.Tests.Otlp.OtlpBodies;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>The binary reader of both transports: what it keeps, what it never decodes, and what it refuses.</summary>
public class OtlpProtobufReaderTests
{
    private static readonly OtlpProtobufReader Reader = new(new OtlpOptions { TenantAttribute = "org.id" });

    [Fact]
    public void OnlyTheAttributesTheMappingReadsAreKeptEveryOtherFieldIsSkipped()
    {
        var span = ToolCall("search");
        span.Attributes.Add(Attribute("gen_ai.input.messages", "a long prompt"));
        span.Attributes.Add(Attribute("org.id", "acme"));
        span.Attributes.Add(Attribute("mcp.session.id", "s-1"));
        var request = Request(span);
        request.ResourceSpans[0].Resource.Attributes.Add(Attribute("host.name", "node-7"));

        var read = Reader.Read(request.ToByteArray());

        var got = read.ResourceSpans[0].ScopeSpans[0].Spans[0];
        Assert.Equal(["mcp.method.name", "gen_ai.tool.name", "server.address", "gen_ai.agent.name", "org.id"], got.Attributes.Select(a => a.Key));
        Assert.Equal((span.TraceId, span.SpanId, span.Name, span.Kind, span.StartTimeUnixNano, span.EndTimeUnixNano),
            (got.TraceId, got.SpanId, got.Name, got.Kind, got.StartTimeUnixNano, got.EndTimeUnixNano));
        // tenant.id is not the configured tenant attribute here.
        Assert.Equal(["service.name"], read.ResourceSpans[0].Resource.Attributes.Select(a => a.Key));
    }

    [Fact]
    public void FieldsMayComeInAnyOrderAndSkippedValuesAreNeverDecoded()
    {
        byte[] invalidUtf8 = [0xC3, 0x28];
        byte[] body = Field(1, [
            .. Field(2, Field(2, [
                .. Field(9, [.. Field(2, Field(1, "late-key"u8.ToArray())), .. Field(1, "gen_ai.tool.name"u8.ToArray())]), // value before key
                .. Field(9, [.. Field(1, "gen_ai.input.messages"u8.ToArray()), .. Field(2, Field(1, invalidUtf8))]),          // never read
                .. Field(5, "tools/call"u8.ToArray()),
            ])),
            .. Field(1, Field(1, [.. Field(1, "service.name"u8.ToArray()), .. Field(2, Field(1, "agents"u8.ToArray()))])),  // resource after its spans
        ]);

        var read = Reader.Read(body);

        var kv = Assert.Single(read.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes);
        Assert.Equal(("gen_ai.tool.name", "late-key"), (kv.Key, kv.Value.StringValue));
        Assert.Equal("agents", read.ResourceSpans[0].Resource.Attributes[0].Value.StringValue);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("not UTF-8")]
    [InlineData("group")]
    [InlineData("long varint")]
    public void MalformedBytesAreRefusedWithWhereAndWhat(string fault)
    {
        var (body, expected) = fault switch
        {
            "truncated" => (Request(ToolCall("search")).ToByteArray()[..^3], "truncated?"),
            "not UTF-8" => (Field(1, Field(2, Field(2, Field(5, [0xC3, 0x28])))), "not valid UTF-8"),
            "group" => ([.. Tag(1, 3)], "wire type 3"),
            _ => ([.. Tag(1, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], "longer than 10 bytes"),
        };
        var e = Assert.Throws<InvalidDataException>(() => Reader.Read(body));
        Assert.Contains(expected, e.Message);
        Assert.Contains("at byte ", e.Message);
    }
}
