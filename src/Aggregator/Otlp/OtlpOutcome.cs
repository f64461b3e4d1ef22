using AgentMeter.Aggregator.Otlp.Proto.Collector;
using Grpc.Core;

namespace AgentMeter.Aggregator.Otlp;

/// <summary>How an export request ended, for either transport.</summary>
public enum OtlpResult
{
    /// <summary>Every span stored, skipped or rejected on its own (partial success).</summary>
    Accepted,
    /// <summary>The body cannot be decoded: sending it again cannot help.</summary>
    Unreadable,
    /// <summary>An encoding or content type this receiver does not read.</summary>
    Unsupported,
    /// <summary>Over the size or span limit: split it.</summary>
    TooLarge,
    Unauthenticated,
    /// <summary>A valid token that may not send data (a tenant's read token).</summary>
    Forbidden,
    /// <summary>The spans break a rule of the caller's token (another tenant's spans): nothing stored, final.</summary>
    Refused,
    /// <summary>Nothing was stored because the database failed: retry after <see cref="OtlpOutcome.RetryAfter"/>.</summary>
    Unavailable,
}

/// <summary>The answer to one export request: the response on success, else a message (and when to retry).</summary>
public sealed record OtlpOutcome(OtlpResult Result, ExportTraceServiceResponse? Response = null, string? Message = null, TimeSpan? RetryAfter = null)
{
    public static OtlpOutcome Failed(OtlpResult result, string message, TimeSpan? retryAfter = null) => new(result, null, message, retryAfter);

    /// <summary>
    /// The HTTP status of OTLP/HTTP: 200 with the response (partial success included), 400 for a
    /// body that cannot be decoded, 401 / 403 for the token, 413 over the limits, 415 for a content
    /// type or encoding not read, 503 with Retry-After (exporters retry it) when nothing was stored.
    /// </summary>
    public int HttpStatus => Result switch
    {
        OtlpResult.Accepted => StatusCodes.Status200OK,
        OtlpResult.Unreadable or OtlpResult.Refused => StatusCodes.Status400BadRequest,
        OtlpResult.Unsupported => StatusCodes.Status415UnsupportedMediaType,
        OtlpResult.TooLarge => StatusCodes.Status413PayloadTooLarge,
        OtlpResult.Unauthenticated => StatusCodes.Status401Unauthorized,
        OtlpResult.Forbidden => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status503ServiceUnavailable,
    };

    /// <summary>
    /// The gRPC status of OTLP/gRPC, by the specification's table of retryable codes: UNAVAILABLE
    /// (retryable, with RetryInfo) when nothing was stored (database failure or a full writer); RESOURCE_EXHAUSTED without RetryInfo
    /// (not retried) over the limits; INVALID_ARGUMENT, UNAUTHENTICATED and PERMISSION_DENIED are
    /// final.
    /// </summary>
    public StatusCode GrpcStatus => Result switch
    {
        OtlpResult.Accepted => StatusCode.OK,
        OtlpResult.Unreadable or OtlpResult.Unsupported or OtlpResult.Refused => StatusCode.InvalidArgument,
        OtlpResult.TooLarge => StatusCode.ResourceExhausted,
        OtlpResult.Unauthenticated => StatusCode.Unauthenticated,
        OtlpResult.Forbidden => StatusCode.PermissionDenied,
        _ => StatusCode.Unavailable,
    };
}
