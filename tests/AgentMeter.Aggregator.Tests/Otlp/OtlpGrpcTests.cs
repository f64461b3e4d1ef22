using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.Otlp.Proto.Trace;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using static AgentMeter.Aggregator.Tests.Otlp.OtlpBodies;
using RetryInfo = AgentMeter.Aggregator.Otlp.Proto.Rpc.RetryInfo;
using RpcStatus = AgentMeter.Aggregator.Otlp.Proto.Rpc.Status;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>
/// OTLP/gRPC with hand-written messages through a plain gRPC client (bytes in, bytes out): the
/// status codes the OTLP specification gives each failure, the token in the authorization metadata,
/// gzip message compression and partial success.
/// </summary>
public sealed class OtlpGrpcTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private static readonly Method<byte[], byte[]> Export = new(MethodType.Unary,
        "opentelemetry.proto.collector.trace.v1.TraceService", "Export",
        Marshallers.Create<byte[]>(b => b, b => b), Marshallers.Create<byte[]>(b => b, b => b));

    private OtlpHost _host = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _host = await OtlpHost.StartAsync(db.ConnectionString, settings: new Dictionary<string, string?> { ["Ingest:MaxBodyBytes"] = "65536" });
        _channel = GrpcChannel.ForAddress(_host.GrpcAddress, new GrpcChannelOptions { MaxReceiveMessageSize = null });
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
    }

    private async Task<ExportTraceServiceResponse> CallAsync(byte[] message, string? token = OtlpHost.IngestToken, bool gzip = false)
    {
        var headers = new Metadata();
        if (token is not null) headers.Add("authorization", $"Bearer {token}");
        // Grpc.Net.Client compresses the request message when asked through this header.
        if (gzip) headers.Add("grpc-internal-encoding-request", "gzip");
        var reply = await _channel.CreateCallInvoker().AsyncUnaryCall(Export, null, new CallOptions(headers), message);
        return ExportTraceServiceResponse.Parser.ParseFrom(reply);
    }

    private async Task<RpcException> FailsAsync(byte[] message, StatusCode expected, string? token = OtlpHost.IngestToken)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => CallAsync(message, token));
        Assert.Equal(expected, e.StatusCode);
        return e;
    }

    private async Task<long> StoredAsync(Span span) =>
        await _host.CountAsync("SELECT count(*) FROM usage_events WHERE event_id = @id", new { id = Hex(span.TraceId) + Hex(span.SpanId) });

    [Fact]
    public async Task AGzipCompressedMessageWithAPartialSuccessStoresTheRest()
    {
        var good = ToolCall("search_issues", seconds: 30);
        var nameless = NewSpan("tools/call", 31, 10, ("mcp.method.name", "tools/call"));

        var response = await CallAsync(Request(good, nameless).ToByteArray(), gzip: true);

        Assert.Equal(1, response.PartialSuccess.RejectedSpans);
        Assert.Contains("without gen_ai.tool.name", response.PartialSuccess.ErrorMessage);
        Assert.Equal(1, await StoredAsync(good));
    }

    [Theory]
    [InlineData(null, StatusCode.Unauthenticated)]
    [InlineData("not-a-token", StatusCode.Unauthenticated)]
    [InlineData(OtlpHost.TenantToken, StatusCode.PermissionDenied)]
    public async Task AWrongTokenIsRefusedAndNothingIsStored(string? token, StatusCode expected)
    {
        var call = ToolCall("search_issues", seconds: 32);
        var e = await FailsAsync(Request(call).ToByteArray(), expected, token);
        Assert.Contains(expected == StatusCode.Unauthenticated ? "OTEL_EXPORTER_OTLP_HEADERS" : "ingest or admin token", e.Status.Detail);
        Assert.Equal(0, await StoredAsync(call));
    }

    [Fact]
    public async Task ATruncatedMessageIsInvalidArgumentWithTheReason()
    {
        var bytes = Request(ToolCall("search_issues", seconds: 33)).ToByteArray();
        var e = await FailsAsync(bytes[..^5], StatusCode.InvalidArgument);
        Assert.Contains("truncated", e.Status.Detail);
    }

    [Fact]
    public async Task AMessageOverTheBodyLimitIsResourceExhaustedWithoutRetryInfo()
    {
        var big = ToolCall("search_issues", seconds: 34);
        big.Attributes.Add(Attribute("gen_ai.input.messages", new string('x', 70_000)));
        var e = await FailsAsync(Request(big).ToByteArray(), StatusCode.ResourceExhausted);
        Assert.Null(e.Trailers.Get("grpc-status-details-bin")?.ValueBytes);
        Assert.Equal(0, await StoredAsync(big));
    }

    [Fact]
    public async Task ADatabaseFailureIsUnavailableWithRetryInfoAndTheRetryIsStored()
    {
        var call = ToolCall("search_issues", seconds: 35);
        await using (await _host.RefuseWritesAsync())
        {
            var e = await FailsAsync(Request(call).ToByteArray(), StatusCode.Unavailable);
            var details = RpcStatus.Parser.ParseFrom(e.Trailers.Get("grpc-status-details-bin")!.ValueBytes);
            Assert.Equal((int)StatusCode.Unavailable, details.Code);
            Assert.Equal(TimeSpan.FromSeconds(5), Assert.Single(details.Details).Unpack<RetryInfo>().RetryDelay.ToTimeSpan());
            Assert.Equal(0, await StoredAsync(call));
        }
        Assert.Null((await CallAsync(Request(call).ToByteArray())).PartialSuccess);
        Assert.Equal(1, await StoredAsync(call));
    }
}
