using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text.Json;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Features;
using RpcStatus = AgentMeter.Aggregator.Otlp.Proto.Rpc.Status;

namespace AgentMeter.Aggregator.Otlp;

/// <summary>
/// OTLP/HTTP: <c>POST /v1/traces</c> with an <c>ExportTraceServiceRequest</c> in binary protobuf
/// (<c>application/x-protobuf</c>) or OTLP/JSON (<c>application/json</c>), optionally
/// <c>Content-Encoding: gzip</c>. Answers in the request's encoding: 200 with an
/// <c>ExportTraceServiceResponse</c>, otherwise a <c>google.rpc.Status</c> whose message says what to do.
/// </summary>
public static class OtlpHttpEndpoint
{
    public const string Path = "/v1/traces";
    private const string Protobuf = "application/x-protobuf", Json = "application/json";

    public static void MapOtlpHttp(this WebApplication app) =>
        // The token is checked by the handler, so that a refusal carries an OTLP Status body too.
        app.MapPost(Path, HandleAsync).AllowAnonymous();

    private static async Task HandleAsync(
        HttpContext http, OtlpReceiver receiver, OtlpProtobufReader protobuf, IngestOptions limits, IngestMemoryBudget budget, CancellationToken ct)
    {
        var request = http.Request;
        var mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType : null;
        var json = string.Equals(mediaType, Json, StringComparison.OrdinalIgnoreCase);
        if (!json && !string.Equals(mediaType, Protobuf, StringComparison.OrdinalIgnoreCase))
        {
            await WriteAsync(http, OtlpOutcome.Failed(OtlpResult.Unsupported,
                $"Content-Type {request.ContentType ?? "(none)"} is not read here: send {Protobuf} or {Json}"), json: false);
            return;
        }
        if (await receiver.RefusalAsync(http.User) is { } refused)
        {
            await WriteAsync(http, refused, json);
            return;
        }
        // The same memory budget as JSON ingest: held until the spans are stored.
        using var lease = budget.TryTake(IngestEndpoints.ReadCost(request.ContentLength ?? IngestEndpoints.FirstChunk));
        var (decoded, failure) = lease is null ? (null, OtlpReceiver.Busy(budget)) : await DecodeAsync(request, protobuf, limits, lease, json, ct);
        await WriteAsync(http, decoded is null ? failure! : await receiver.ExportAsync(decoded, http.User, ct), json);
    }

    /// <summary>The request message, or why there is none.</summary>
    private static async Task<(ExportTraceServiceRequest? Request, OtlpOutcome? Failure)> DecodeAsync(
        HttpRequest request, OtlpProtobufReader protobuf, IngestOptions limits, IngestMemoryBudget.Lease lease, bool json, CancellationToken ct)
    {
        var encoding = request.Headers.ContentEncoding.ToString();
        var gzip = string.Equals(encoding, "gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !string.Equals(encoding, "identity", StringComparison.OrdinalIgnoreCase))
            return (null, OtlpOutcome.Failed(OtlpResult.Unsupported, $"Content-Encoding {encoding} is not read here: send gzip or no encoding"));
        if (request.ContentLength > limits.MaxBodyBytes) return (null, BodyTooLarge(limits, gzip: false));
        // Our own limit applies (with a message that names it), not Kestrel's default.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = null;

        var body = await IngestEndpoints.ReadBodyAsync(request.Body, request.ContentLength, limits.MaxBodyBytes, lease, ct);
        if (body is null) return (null, BodyTooLarge(limits, gzip: false));
        if (body.Value.Buffer is null) return (null, OtlpReceiver.Busy(lease.Budget));
        try
        {
            if (gzip)
            {
                // The limit holds after decompression too: a small gzip body may expand without bound.
                var compressed = body.Value;
                body = null;
                try
                {
                    await using var unzip = new GZipStream(new MemoryStream(compressed.Buffer, 0, compressed.Length), CompressionMode.Decompress);
                    body = await IngestEndpoints.ReadBodyAsync(unzip, null, limits.MaxBodyBytes, lease, ct);
                }
                catch (InvalidDataException e)
                {
                    return (null, OtlpOutcome.Failed(OtlpResult.Unreadable, $"the body is not valid gzip ({e.Message})"));
                }
                finally
                {
                    IngestEndpoints.ReturnBuffer(compressed.Buffer!);
                }
                if (body is null) return (null, BodyTooLarge(limits, gzip: true));
                if (body.Value.Buffer is null) return (null, OtlpReceiver.Busy(lease.Budget));
            }
            var bytes = body.Value.Buffer!.AsSpan(0, body.Value.Length);
            return (json ? OtlpJsonReader.Read(bytes) : protobuf.Read(bytes), null);
        }
        catch (JsonException e)
        {
            return (null, OtlpOutcome.Failed(OtlpResult.Unreadable,
                $"the body is not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1} (nesting deeper than {OtlpJsonReader.MaxDepth} levels is refused)"));
        }
        catch (InvalidDataException e)
        {
            return (null, OtlpOutcome.Failed(OtlpResult.Unreadable,
                $"the body is not {(json ? "an OTLP/JSON" : "a protobuf")} ExportTraceServiceRequest: {e.Message}"));
        }
        finally
        {
            // The messages hold their own copies: the buffer can go back to the pool.
            if (body is { Buffer: { } buffer }) IngestEndpoints.ReturnBuffer(buffer);
        }
    }

    private static OtlpOutcome BodyTooLarge(IngestOptions limits, bool gzip) =>
        OtlpOutcome.Failed(OtlpResult.TooLarge,
            $"the body is larger than {limits.MaxBodyBytes} bytes{(gzip ? " once decompressed" : "")} (Ingest__MaxBodyBytes): export smaller batches");

    private static async Task WriteAsync(HttpContext http, OtlpOutcome outcome, bool json)
    {
        var response = http.Response;
        response.StatusCode = outcome.HttpStatus;
        if (outcome.RetryAfter is { } wait)
            response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        IMessage message = outcome.Response ?? (IMessage)new RpcStatus { Code = (int)outcome.GrpcStatus, Message = outcome.Message ?? "" };
        response.ContentType = json ? Json : Protobuf;
        if (json) await response.WriteAsync(JsonFormatter.Default.Format(message), http.RequestAborted);
        else await response.Body.WriteAsync(message.ToByteArray(), http.RequestAborted);
    }
}
