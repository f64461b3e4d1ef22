using System.Buffers;
using AgentMeter.Aggregator.Auth;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;

namespace AgentMeter.Aggregator.Ingest;

public static class IngestEndpoints
{
    public static WebApplicationBuilder AddIngest(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Ingest").Get<IngestOptions>() ?? new IngestOptions();
        if (options.Writers < 1)
            throw new InvalidOperationException($"Ingest__Writers must be at least 1, got {options.Writers}");
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<EventWriter>();
        builder.Services.AddSingleton<IngestService>();
        return builder;
    }

    /// <summary>
    /// <c>POST /api/v1/events</c>: a JSON array, or NDJSON with Content-Type application/x-ndjson.
    /// 200 <c>{"accepted","duplicates"}</c> once committed; 400 <c>{"errors":[{"index","field","problem"}]}</c>
    /// listing every bad event (nothing stored); 413 over a size limit; 503 when the database fails.
    /// </summary>
    public static void MapIngest(this WebApplication app)
    {
        app.MapPost("/api/v1/events", async (HttpRequest request, IngestOptions options, IngestService ingest, TimeProvider time,
            ILoggerFactory logs, CancellationToken ct) =>
        {
            if (request.ContentLength > options.MaxBodyBytes) return BodyTooLarge(options);
            // Our own limit applies (with a message that names it), not Kestrel's default.
            if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = null;
            var body = await ReadBodyAsync(request.Body, request.ContentLength, options.MaxBodyBytes, ct);
            if (body is null) return BodyTooLarge(options);
            EventBatch batch;
            try
            {
                batch = EventBatchReader.Read(body.Value.Buffer.AsMemory(0, body.Value.Length), EventBatchReader.IsNdjson(request.ContentType), time.GetUtcNow(), options);
            }
            finally
            {
                // The events hold their own strings: the body can go back to the pool.
                ArrayPool<byte>.Shared.Return(body.Value.Buffer);
            }
            if (batch.TooLarge is not null)
                return Results.Json(new { error = batch.TooLarge }, statusCode: StatusCodes.Status413PayloadTooLarge);
            if (batch.Problems.Count > 0)
                return Results.BadRequest(new { errors = batch.Problems });
            try
            {
                var result = await ingest.StoreAsync(batch.Events, "ingest", ct);
                return Results.Ok(new { accepted = result.Stored.Count, duplicates = result.Duplicates });
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logs.CreateLogger(typeof(IngestEndpoints)).LogError(e, "Ingest of {Count} events failed; nothing was stored", batch.Events.Count);
                return Results.Json(new { error = $"database unavailable, nothing was stored; retry the batch ({e.Message})" },
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        }).RequireAuthorization(Policies.Ingest);
    }

    private static IResult BodyTooLarge(IngestOptions options) =>
        Results.Json(new { error = $"the body is larger than {options.MaxBodyBytes} bytes (Ingest__MaxBodyBytes): split the batch" },
            statusCode: StatusCodes.Status413PayloadTooLarge);

    /// <summary>
    /// The whole body in a pooled buffer (a batch of 1,000 events is ~200 KB: a new array per request
    /// lands on the large object heap and drives full collections), or null as soon as it exceeds
    /// the limit (chunked bodies have no Content-Length). The caller returns the buffer.
    /// </summary>
    internal static async Task<(byte[] Buffer, int Length)?> ReadBodyAsync(Stream body, long? contentLength, long limit, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(contentLength ?? 0, 4096), limit) + 1);
        var length = 0;
        int n;
        while ((n = await body.ReadAsync(buffer.AsMemory(length), ct)) > 0)
        {
            length += n;
            if (length > limit)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return null;
            }
            if (length == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit + 1));
                buffer.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }
        }
        return (buffer, length);
    }
}
