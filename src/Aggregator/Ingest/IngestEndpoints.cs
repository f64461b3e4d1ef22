using System.Buffers;
using System.Globalization;
using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Errors;
using AgentMeter.Aggregator.SelfMonitoring;
using Microsoft.AspNetCore.Http.Features;

namespace AgentMeter.Aggregator.Ingest;

public static class IngestEndpoints
{
    /// <summary>
    /// <c>POST /api/v1/events</c>: a JSON array, or NDJSON with Content-Type application/x-ndjson.
    /// 200 <c>{"accepted","duplicates"}</c> once committed; 400 <c>{"errors":[{"index","field","problem"}]}</c>
    /// listing every bad event (nothing stored); 413 over a size limit; 503 with Retry-After when
    /// saturated (nothing stored); 503 when the database fails (saying whether anything may be stored).
    /// A tenant's ingest token writes its own tenant only.
    /// </summary>
    public static void MapIngest(this WebApplication app)
    {
        app.MapPost("/api/v1/events", async (HttpContext http, IngestOptions options, IngestService ingest, IngestMemoryBudget budget,
            TimeProvider time, SelfMetrics self, ILoggerFactory logs, CancellationToken ct) =>
        {
            var request = http.Request;
            if (request.ContentLength > options.MaxBodyBytes) return BodyTooLarge(options);
            // Our own limit applies (with a message that names it), not Kestrel's default.
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = null;
            using var lease = budget.TryTake(ReadCost(request.ContentLength ?? FirstChunk));
            if (lease is null) return await TurnAwayAsync(request, ingest.RetryAfter, MemoryFull(budget), options, ct);
            var body = await ReadBodyAsync(request.Body, request.ContentLength, options.MaxBodyBytes, lease, ct);
            if (body is null) return BodyTooLarge(options);
            if (body.Value.Buffer is null) return await TurnAwayAsync(request, ingest.RetryAfter, MemoryFull(budget), options, ct);
            // A large batch, when a writer is free, goes into the database while it is read (StreamedBatch); the
            // finally abandons it on every way out but the one that completes it.
            var stream = body.Value.Length >= StreamFromBytes ? ingest.TryStream("ingest", http.User.Tenant()) : null;
            IngestOutcome outcome;
            EventBatch batch;
            try
            {
                long held;
                try
                {
                    // Parsing runs on this thread without awaiting: what it allocated is what the events hold (and some garbage).
                    var allocated = GC.GetAllocatedBytesForCurrentThread();
                    batch = EventBatchReader.Read(body.Value.Buffer.AsMemory(0, body.Value.Length), EventBatchReader.IsNdjson(request.ContentType), time.GetUtcNow(),
                        options, stream);
                    held = body.Value.Buffer.Length + GC.GetAllocatedBytesForCurrentThread() - allocated;
                }
                finally
                {
                    // The events hold their own strings: the body can go.
                    ReturnBuffer(body.Value.Buffer);
                }
                if (batch.TooLarge is not null)
                    return Results.Json(new { error = batch.TooLarge }, statusCode: StatusCodes.Status413PayloadTooLarge);
                if (batch.Problems.Count > 0)
                {
                    // The batch is refused whole: its valid events and every bad one.
                    self.IngestEvents(SelfMetrics.Json, rejected: batch.Events.Count + batch.Problems.Where(p => p.Index is not null).Select(p => p.Index).Distinct().Count());
                    return Results.BadRequest(new { errors = batch.Problems });
                }
                if (!lease.TryGrowTo(held)) return TurnedAway(ingest.RetryAfter, MemoryFull(budget));
                outcome = stream is null
                    ? await ingest.SubmitAsync(batch.Events, "ingest", http.User.Tenant(), ct)
                    : await ingest.SubmitAsync(stream, batch.Events, ct);
            }
            finally
            {
                stream?.Abandon();
            }
            var log = logs.CreateLogger(typeof(IngestEndpoints));
            switch (outcome)
            {
                case IngestOutcome.Stored stored:
                    self.IngestEvents(SelfMetrics.Json, stored.Result.Stored.Count, stored.Result.Duplicates);
                    return Results.Ok(new { accepted = stored.Result.Stored.Count, duplicates = stored.Result.Duplicates });
                case IngestOutcome.Refused refused:
                    self.IngestEvents(SelfMetrics.Json, rejected: batch.Events.Count);
                    return Results.BadRequest(new { errors = refused.Problems });
                case IngestOutcome.Saturated saturated:
                    return TurnedAway(saturated.RetryAfter, saturated.Reason);
                case IngestOutcome.Failed { NothingStored: true } failed:
                    log.LogError(failed.Error, "Ingest of {Count} events failed and was rolled back (trace id {TraceId})", batch.Events.Count, ErrorAnswers.TraceId(http));
                    return DatabaseFailed(http, "the database refused the batch and rolled it back: nothing was stored; retry the batch");
                case IngestOutcome.Failed failed:
                    log.LogError(failed.Error, "Ingest of {Count} events failed; whether they are stored is unknown (trace id {TraceId})",
                        batch.Events.Count, ErrorAnswers.TraceId(http));
                    return DatabaseFailed(http, "the database connection failed while the batch was written: whether it was stored is unknown. " +
                                                "Retrying it with the same event_ids is safe (an event is stored once); events without event_id may be stored twice");
                default:
                    throw new InvalidOperationException($"unexpected ingest outcome {outcome}");
            }
        }).RequireAuthorization(Policies.Ingest);
    }

    private static IResult BodyTooLarge(IngestOptions options) =>
        Results.Json(new { error = $"the body is larger than {options.MaxBodyBytes} bytes (Ingest__MaxBodyBytes): split the batch" },
            statusCode: StatusCodes.Status413PayloadTooLarge);

    private static IResult DatabaseFailed(HttpContext http, string error)
    {
        var traceId = ErrorAnswers.TraceId(http);
        return Results.Json(new { error = $"{error} (trace id {traceId} in the aggregator's log has the details)", traceId },
            statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    internal static string MemoryFull(IngestMemoryBudget budget) =>
        $"request bodies in flight hold {budget.Used} of the {budget.Capacity} bytes they may (Ingest__MemoryBudgetBytes)";

    /// <summary>503 with Retry-After: nothing of the batch was taken; the same batch may be sent again after the delay.</summary>
    private static IResult TurnedAway(TimeSpan retryAfter, string reason)
    {
        var seconds = (long)Math.Ceiling(retryAfter.TotalSeconds);
        return new TurnedAwayResult(seconds, $"busy, nothing was stored: {reason}; send the batch again in {seconds} s");
    }

    /// <summary>
    /// Turned away before the body was read: it is read to its end and dropped, so the client (which
    /// is still sending) reads the answer instead of a reset connection.
    /// </summary>
    private static async Task<IResult> TurnAwayAsync(HttpRequest request, TimeSpan retryAfter, string reason, IngestOptions options, CancellationToken ct)
    {
        var scrap = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long read = 0;
            int n;
            while (read <= options.MaxBodyBytes && (n = await request.Body.ReadAsync(scrap, ct)) > 0) read += n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scrap);
        }
        return TurnedAway(retryAfter, reason);
    }

    private sealed class TurnedAwayResult(long retryAfterSeconds, string error) : IResult
    {
        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Results.Json(new { error, retryAfterSeconds }, statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(http);
        }
    }

    /// <summary>
    /// Bodies from this size (about 200 events) are written while they are read when a writer is free: a smaller
    /// one is read before its first chunk would be written.
    /// </summary>
    private const int StreamFromBytes = 64 * 1024;

    /// <summary>Bodies up to this size are read into pooled buffers (a typical batch of 1,000 events is ~200 KB).</summary>
    private const int PooledBodyBytes = 1024 * 1024;
    internal const int FirstChunk = 64 * 1024;

    /// <summary>
    /// Memory a body of this size takes while it is read and parsed: the body itself and the events, at
    /// most about twice its size (UTF-16 strings of a body of unique long values). Once parsed, the
    /// exact figure replaces the estimate.
    /// </summary>
    internal static long ReadCost(long bodyBytes) => 3 * bodyBytes;

    /// <summary>
    /// The whole body, or null as soon as it exceeds the limit (chunked bodies have no Content-Length),
    /// or a null buffer when a growing body no longer fits the memory budget. Up to
    /// <see cref="PooledBodyBytes"/> in a pooled buffer (a new array per request lands on the large object
    /// heap and drives full collections); beyond, in an array of its own: kept in the pool, large
    /// buffers would hold memory that no budget accounts for. The caller returns the buffer
    /// (<see cref="ReturnBuffer"/>).
    /// </summary>
    internal static async Task<(byte[]? Buffer, int Length)?> ReadBodyAsync(
        Stream body, long? contentLength, long limit, IngestMemoryBudget.Lease lease, CancellationToken ct)
    {
        var buffer = RentBuffer((int)Math.Min(Math.Max(contentLength ?? FirstChunk, 4096), limit) + 1);
        var length = 0;
        int n;
        while ((n = await body.ReadAsync(buffer.AsMemory(length), ct)) > 0)
        {
            length += n;
            if (length > limit)
            {
                ReturnBuffer(buffer);
                return null;
            }
            if (length == buffer.Length)
            {
                var size = (int)Math.Min((long)buffer.Length * 2, limit + 1);
                if (!lease.TryGrowTo(ReadCost(size)))
                {
                    ReturnBuffer(buffer);
                    return (null, 0);
                }
                var larger = RentBuffer(size);
                buffer.AsSpan(0, length).CopyTo(larger);
                ReturnBuffer(buffer);
                buffer = larger;
            }
        }
        return (buffer, length);
    }

    private static byte[] RentBuffer(int size) =>
        size <= PooledBodyBytes ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);

    internal static void ReturnBuffer(byte[] buffer)
    {
        if (buffer.Length <= PooledBodyBytes) ArrayPool<byte>.Shared.Return(buffer);
    }
}
