using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.Otlp.Proto.Trace;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Google.Protobuf;
using Npgsql;
using static AgentMeter.Aggregator.Tests.Otlp.OtlpBodies;
using RpcStatus = AgentMeter.Aggregator.Otlp.Proto.Rpc.Status;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>
/// OTLP/HTTP with hand-written bodies: the encodings and their corner cases, partial success, the
/// limits, the token, bodies that cannot be decoded, and a database failure answered 503 with
/// Retry-After (stored afterwards when sent again). Every answer is checked in the encoding of the
/// request, as exporters read it.
/// </summary>
public sealed class OtlpHttpTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private OtlpHost _host = null!;

    public async Task InitializeAsync() => _host = await OtlpHost.StartAsync(db.ConnectionString);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static ByteArrayContent Body(byte[] bytes, string contentType, string? encoding = null)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (encoding is not null) content.Headers.ContentEncoding.Add(encoding);
        return content;
    }

    private async Task<HttpResponseMessage> PostAsync(HttpContent content, string? token = OtlpHost.IngestToken)
    {
        using var client = _host.Client(token);
        return await client.PostAsync("/v1/traces", content);
    }

    private async Task<ExportTraceServiceResponse> ExportProtobufAsync(ExportTraceServiceRequest request, string? encoding = null)
    {
        var bytes = request.ToByteArray();
        using var response = await PostAsync(Body(encoding == "gzip" ? Gzip(bytes) : bytes, "application/x-protobuf", encoding));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-protobuf", response.Content.Headers.ContentType?.MediaType);
        return ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
    }

    private static async Task<RpcStatus> StatusAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        return response.Content.Headers.ContentType?.MediaType == "application/json"
            ? JsonParser.Default.Parse<RpcStatus>(Encoding.UTF8.GetString(body))
            : RpcStatus.Parser.ParseFrom(body);
    }

    private async Task<long> StoredAsync(params Span[] spans) =>
        await _host.CountAsync("SELECT count(*) FROM usage_events WHERE event_id = ANY(@ids)",
            new { ids = spans.Select(s => Hex(s.TraceId) + Hex(s.SpanId)).ToArray() });

    [Fact]
    public async Task AGzipProtobufBodyIsStoredWithEverySpanField()
    {
        var call = ToolCall("search_issues", durationMs: 250);
        call.Attributes.Add(Attribute("user.id", "alice"));
        call.Status = new Status { Code = Status.Types.StatusCode.Error, Message = "boom" };

        var response = await ExportProtobufAsync(Request(call), encoding: "gzip");

        Assert.Null(response.PartialSuccess);
        await using var conn = new NpgsqlConnection(db.ConnectionString);
        var row = await conn.QuerySingleAsync<(string Type, DateTime Time, string Agent, string Tool, string Server, string User, string Tenant, string Status, double Latency, string Source)>(
            "SELECT type, time, agent_id, tool_name, server_label, user_id, tenant_id, status, latency_ms, source FROM usage_events WHERE event_id = @id",
            new { id = Hex(call.TraceId) + Hex(call.SpanId) });
        Assert.Equal(("tool_call", Day.UtcDateTime, "bot", "search_issues", "github", "alice", "acme", "failure", 250.0, "otlp"), row);
    }

    [Fact]
    public async Task UnknownFieldsAtEveryLevelAreSkippedAndNestedValuesAreNeverDecoded()
    {
        var call = ToolCall("create_issue");
        // A value nested 2,000 levels deep (arrays in arrays): the receiver declares no array values,
        // so the parser skips the field by its length without reading into it.
        byte[] deep = Field(1, "x"u8.ToArray());
        for (var i = 0; i < 2000; i++) deep = Field(5, Field(1, deep));
        byte[] extraSpanFields =
        [
            .. Field(11, Field(2, "event"u8.ToArray())),              // events
            .. Field(13, Field(1, new byte[16])),                     // links
            .. Field(9, [.. Field(1, "deep"u8.ToArray()), .. Field(2, deep)]), // an attribute with the deep value
            .. Tag(16, 5), 1, 0, 0, 0,                                // flags (fixed32)
            .. Tag(999, 0), .. Varint(42),                            // a field no version defines
        ];
        var span = call.ToByteArray().Concat(extraSpanFields).ToArray();
        byte[] body =
        [
            .. Field(1, [.. Field(1, Request(call).ResourceSpans[0].Resource.ToByteArray()), .. Field(2, [.. Field(1, "scope"u8.ToArray()), .. Field(2, span)]), .. Field(3, "https://schema"u8.ToArray())]),
            .. Tag(77, 0), .. Varint(7),
        ];

        using var response = await PostAsync(Body(body, "application/x-protobuf"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).PartialSuccess);
        Assert.Equal(1, await StoredAsync(call));
    }

    [Fact]
    public async Task OtlpJsonWithHexIdsSixtyFourBitStringsAndUnknownKeysIsStored()
    {
        var start = Day.AddHours(1).ToUnixTimeMilliseconds() * 1_000_000;
        // Upper-case hex ids, times and counts as strings and as numbers, enums as integers, keys no version defines.
        var json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"agents"}}],"droppedAttributesCount":0},
              "schemaUrl":"https://opentelemetry.io/schemas/1.30.0","futureField":{"a":[1,2,{"b":null}]},
              "scopeSpans":[{"scope":{"name":"openai","version":"1.0"},"spans":[
                {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"EEE19B7EC3C1B173","name":"chat gpt-4o",
                 "kind":3,"startTimeUnixNano":"START","endTimeUnixNano":END,
                 "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
                               {"key":"gen_ai.response.model","value":{"stringValue":"gpt-4o"}},
                               {"key":"gen_ai.usage.input_tokens","value":{"intValue":"99999999"}},
                               {"key":"gen_ai.usage.output_tokens","value":{"intValue":300}},
                               {"key":"gen_ai.input.messages","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[{"key":"role","value":{"stringValue":"user"}}]}}]}}},
                               {"key":"tenant.id","value":{"stringValue":"acme"}}],
                 "events":[{"name":"gen_ai.choice","timeUnixNano":"1"}],"status":{"code":1},"flags":257}]}]}]}
            """.Replace("START", $"{start}").Replace("END", $"{start + 900_000_000}");

        using var response = await PostAsync(Body(Encoding.UTF8.GetBytes(json), "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{ }", await response.Content.ReadAsStringAsync());
        await using var conn = new NpgsqlConnection(db.ConnectionString);
        var row = await conn.QuerySingleAsync<(string Type, string Agent, string Model, long Input, long Output, string Tenant)>(
            "SELECT type, agent_id, model, input_tokens, output_tokens, tenant_id FROM usage_events WHERE event_id = @id",
            new { id = "5b8efff798038103d269b633813fc60ceee19b7ec3c1b174" });
        // A 64-bit integer sent as a string (OTLP/JSON's encoding), at the largest token count an event may carry.
        Assert.Equal(("model_call", "agents", "gpt-4o", 99_999_999L, 300L, "acme"), row);
    }

    [Fact]
    public async Task AToolSpanWithoutAToolNameIsRejectedAloneWithAPartialSuccessThatNamesIt()
    {
        var good = ToolCall("search_issues");
        var nameless = NewSpan("tools/call", 1, 100, ("mcp.method.name", "tools/call"), ("server.address", "github"));
        var backwards = ToolCall("create_issue", seconds: 2);
        (backwards.StartTimeUnixNano, backwards.EndTimeUnixNano) = (backwards.EndTimeUnixNano, backwards.StartTimeUnixNano);
        var plain = NewSpan("GET /", 3, 5, ("http.request.method", "GET"));

        var response = await ExportProtobufAsync(Request(good, nameless, backwards, plain));

        Assert.Equal(2, response.PartialSuccess.RejectedSpans);
        var message = response.PartialSuccess.ErrorMessage;
        Assert.Contains($"span {Hex(nameless.TraceId)}/{Hex(nameless.SpanId)} \"tools/call\": a tool call (mcp.method.name=tools/call) without gen_ai.tool.name", message);
        Assert.Contains($"span {Hex(backwards.TraceId)}/{Hex(backwards.SpanId)} \"tools/call create_issue\": end_time_unix_nano {backwards.EndTimeUnixNano} is before start_time_unix_nano {backwards.StartTimeUnixNano}", message);
        Assert.Equal(1, await StoredAsync(good));
        Assert.Equal(0, await StoredAsync(nameless, backwards, plain));

        // The same in OTLP/JSON: a JSON ExportTraceServiceResponse, its int64 as a string.
        var start = Day.AddHours(2).ToUnixTimeMilliseconds() * 1_000_000;
        using var jsonResponse = await PostAsync(Body(Encoding.UTF8.GetBytes("""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"agents"}}]},"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"tools/call",
              "kind":3,"startTimeUnixNano":"START","endTimeUnixNano":"END","attributes":[{"key":"mcp.method.name","value":{"stringValue":"tools/call"}}]}]}]}]}
            """.Replace("START", $"{start}").Replace("END", $"{start + 1000}")), "application/json"));
        using var parsed = JsonDocument.Parse(await jsonResponse.Content.ReadAsStringAsync());
        var partial = parsed.RootElement.GetProperty("partialSuccess");
        Assert.Equal("1", partial.GetProperty("rejectedSpans").GetString());
        Assert.Contains("span 4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7 \"tools/call\": a tool call (mcp.method.name=tools/call) without gen_ai.tool.name",
            partial.GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task AValueTooLongForItsFieldNamesTheAttributeAndAHugeUnreadAttributeIsHarmless()
    {
        var longName = ToolCall(new string('t', 300));
        var bigPrompt = ToolCall("search_issues", seconds: 1);
        bigPrompt.Attributes.Add(Attribute("gen_ai.input.messages", new string('x', 4_000_000)));

        var response = await ExportProtobufAsync(Request(longName, bigPrompt));

        Assert.Equal(1, response.PartialSuccess.RejectedSpans);
        Assert.Contains("gen_ai.tool.name is 300 characters long; at most 256", response.PartialSuccess.ErrorMessage);
        Assert.Equal(1, await StoredAsync(bigPrompt));
    }

    [Fact]
    public async Task ALargeExportIsStoredWithoutItsRejectedSpanAndOnceWhenExportedAgain()
    {
        // 600 spans: copied while they are mapped when a writer is free (StreamedBatch); the rejected one is left out alone.
        var calls = Enumerable.Range(0, 600).Select(i => ToolCall("search_issues", seconds: i)).ToArray();
        var response = await ExportProtobufAsync(Request([.. calls[..300], ToolCall(new string('t', 300)), .. calls[300..]]));
        Assert.Equal(1, response.PartialSuccess.RejectedSpans);
        Assert.Equal(600, await StoredAsync(calls));

        // Exported again: the unique index refuses the streamed COPY, and the batch is written whole as duplicates.
        Assert.Null((await ExportProtobufAsync(Request(calls))).PartialSuccess);
        Assert.Equal(600, await StoredAsync(calls));
    }

    [Fact]
    public async Task AReExportIsStoredOnce()
    {
        var call = ToolCall("search_issues", seconds: 5);
        await ExportProtobufAsync(Request(call));
        var again = await ExportProtobufAsync(Request(call, call));
        Assert.Null(again.PartialSuccess);
        Assert.Equal(1, await StoredAsync(call));
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("not-a-token", HttpStatusCode.Unauthorized)]
    [InlineData(OtlpHost.TenantToken, HttpStatusCode.Forbidden)]
    public async Task AWrongTokenGetsAStatusBodyAndNothingIsStored(string? token, HttpStatusCode expected)
    {
        var call = ToolCall("search_issues", seconds: 6);
        using var response = await PostAsync(Body(Request(call).ToByteArray(), "application/x-protobuf"), token);
        var status = await StatusAsync(response, expected);
        Assert.Contains(expected == HttpStatusCode.Forbidden ? "ingest or admin token" : "OTEL_EXPORTER_OTLP_HEADERS", status.Message);
        Assert.Equal(0, await StoredAsync(call));
    }

    [Fact]
    public async Task TheAdminTokenMayExport()
    {
        var call = ToolCall("search_issues", seconds: 7);
        using var response = await PostAsync(Body(Request(call).ToByteArray(), "application/x-protobuf"), OtlpHost.AdminToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, await StoredAsync(call));
    }

    [Fact]
    public async Task BodiesThatCannotBeDecodedGet400WithTheReason()
    {
        var bytes = Request(ToolCall("search_issues", seconds: 8)).ToByteArray();
        using (var truncated = await PostAsync(Body(bytes[..^7], "application/x-protobuf")))
            Assert.Contains("truncated", (await StatusAsync(truncated, HttpStatusCode.BadRequest)).Message);

        using (var notGzip = await PostAsync(Body(bytes, "application/x-protobuf", "gzip")))
            Assert.Contains("not valid gzip", (await StatusAsync(notGzip, HttpStatusCode.BadRequest)).Message);

        // JSON deeper than the reader's limit, in a value the receiver would skip anyway.
        var deep = string.Concat(Enumerable.Repeat("{\"arrayValue\":{\"values\":[", 40)) + "{}" + string.Concat(Enumerable.Repeat("]}}", 40));
        using (var nested = await PostAsync(Body(Encoding.UTF8.GetBytes(
                   """{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{{deep}}}]}}]}"""), "application/json")))
            Assert.Contains("nesting deeper than 64", (await StatusAsync(nested, HttpStatusCode.BadRequest)).Message);

        using (var enumName = await PostAsync(Body("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_CLIENT"}]}]}]}"""u8.ToArray(), "application/json")))
            Assert.Contains("kind must be an integer", (await StatusAsync(enumName, HttpStatusCode.BadRequest)).Message);

        using (var notJson = await PostAsync(Body("{\"resourceSpans\":["u8.ToArray(), "application/json")))
            Assert.Contains("not valid JSON", (await StatusAsync(notJson, HttpStatusCode.BadRequest)).Message);

        using (var text = await PostAsync(Body(bytes, "text/plain")))
            Assert.Contains("application/x-protobuf", (await StatusAsync(text, HttpStatusCode.UnsupportedMediaType)).Message);
    }

    [Fact]
    public async Task AnEmptyRequestIsAFullSuccess()
    {
        Assert.Null((await ExportProtobufAsync(new ExportTraceServiceRequest())).PartialSuccess);
        using var response = await PostAsync(Body("{}"u8.ToArray(), "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task BodiesOverTheLimitGet413BeforeAndAfterDecompression()
    {
        await using var small = await OtlpHost.StartAsync(db.ConnectionString, settings: new Dictionary<string, string?>
        {
            ["Ingest:MaxBodyBytes"] = "65536", ["Ingest:MaxBatchEvents"] = "3",
        });
        using var client = small.Client();
        var big = ToolCall("search_issues", seconds: 9);
        big.Attributes.Add(Attribute("gen_ai.input.messages", new string('x', 70_000)));
        var bytes = Request(big).ToByteArray();

        using (var plain = await client.PostAsync("/v1/traces", Body(bytes, "application/x-protobuf")))
            Assert.Contains("Ingest__MaxBodyBytes", (await StatusAsync(plain, HttpStatusCode.RequestEntityTooLarge)).Message);
        // A few hundred bytes of gzip that expand past the limit.
        var bomb = Gzip(new byte[2_000_000]);
        Assert.True(bomb.Length < 65536);
        using (var zipped = await client.PostAsync("/v1/traces", Body(bomb, "application/x-protobuf", "gzip")))
            Assert.Contains("once decompressed", (await StatusAsync(zipped, HttpStatusCode.RequestEntityTooLarge)).Message);
        using (var many = await client.PostAsync("/v1/traces", Body(Request(
                   ToolCall("a", 10), ToolCall("b", 11), ToolCall("c", 12), ToolCall("d", 13)).ToByteArray(), "application/x-protobuf")))
            Assert.Contains("4 spans; at most 3", (await StatusAsync(many, HttpStatusCode.RequestEntityTooLarge)).Message);
        Assert.Equal(0, await StoredAsync(big));
    }

    [Fact]
    public async Task ADatabaseFailureIs503WithRetryAfterAndTheRetryIsStored()
    {
        var call = ToolCall("search_issues", seconds: 20);
        await using (await _host.RefuseWritesAsync())
        {
            using var refused = await PostAsync(Body(Request(call).ToByteArray(), "application/x-protobuf"));
            Assert.Equal("5", refused.Headers.GetValues("Retry-After").Single());
            Assert.Contains("nothing was stored", (await StatusAsync(refused, HttpStatusCode.ServiceUnavailable)).Message);
            Assert.Equal(0, await StoredAsync(call));
        }
        await ExportProtobufAsync(Request(call));
        Assert.Equal(1, await StoredAsync(call));
    }
}
