using System.Security.Claims;
using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using AgentMeter.Aggregator.SelfMonitoring;
using Microsoft.AspNetCore.Authorization;

namespace AgentMeter.Aggregator.Otlp;

/// <summary>
/// What OTLP/HTTP and OTLP/gRPC share once a request is decoded: who may export, the mapping of
/// spans to events, and storing them through the ingest path of <c>POST /api/v1/events</c> (same
/// writer, same all-or-nothing commit before the answer, same duplicate check, same observers, so
/// metrics and alerts see the events at once).
/// </summary>
public sealed class OtlpReceiver(
    SpanMapper mapper, IngestService ingest, IngestOptions limits, OtlpMetrics metrics, SelfMetrics self, IAuthorizationService authorization,
    TimeProvider time, ILogger<OtlpReceiver> log)
{
    /// <summary>What exporters are asked to wait before sending again when the database failed.</summary>
    public static readonly TimeSpan RetryAfterUnavailable = TimeSpan.FromSeconds(5);

    /// <summary>Request bodies in flight fill the ingest memory budget: retryable, nothing stored.</summary>
    public static OtlpOutcome Busy(IngestMemoryBudget budget) =>
        OtlpOutcome.Failed(OtlpResult.Unavailable, $"busy, nothing was stored: {IngestEndpoints.MemoryFull(budget)}", RetryAfterUnavailable);

    /// <summary>Null when the caller may export (the ingest or admin token, as for JSON ingest), else the refusal.</summary>
    public async Task<OtlpOutcome?> RefusalAsync(ClaimsPrincipal caller)
    {
        if ((await authorization.AuthorizeAsync(caller, Policies.Ingest)).Succeeded) return null;
        return caller.Identity?.IsAuthenticated == true
            ? OtlpOutcome.Failed(OtlpResult.Forbidden, "this token may not send telemetry: use the ingest or admin token")
            : OtlpOutcome.Failed(OtlpResult.Unauthenticated,
                "a valid bearer token is required: set OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer <ingest token>\"");
    }

    /// <summary>The span limit of a request: the event limit of JSON ingest.</summary>
    public OtlpOutcome? TooManySpans(ExportTraceServiceRequest request)
    {
        var spans = SpanCount(request);
        return spans <= limits.MaxBatchEvents ? null
            : OtlpOutcome.Failed(OtlpResult.TooLarge,
                $"the request has {spans} spans; at most {limits.MaxBatchEvents} per request (Ingest__MaxBatchEvents): export smaller batches");
    }

    private static int SpanCount(ExportTraceServiceRequest request) => request.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count));

    /// <summary>
    /// Maps and stores the spans of an authorised request; answers once they are committed. A
    /// tenant's ingest token stores spans of its tenant only (as JSON ingest does).
    /// </summary>
    public async Task<OtlpOutcome> ExportAsync(ExportTraceServiceRequest request, ClaimsPrincipal caller, CancellationToken ct)
    {
        if (TooManySpans(request) is { } tooMany) return tooMany;
        // An exporter sends one batch at a time: a large one, when a writer is free, is copied while it is mapped
        // (StreamedBatch, as JSON ingest does); the finally abandons it on every way out but the one that completes it.
        var stream = SpanCount(request) >= 2 * StreamedBatch.ChunkEvents ? ingest.TryStream("otlp", caller.Tenant()) : null;
        MappedSpans mapped;
        var duplicates = 0;
        try
        {
            mapped = mapper.Map(request, time.GetUtcNow(), limits.MaxClockSkew, stream);
            if (mapped.Events.Count > 0)
            {
                var outcome = stream is null
                    ? await ingest.SubmitAsync(mapped.Events, "otlp", caller.Tenant(), ct)
                    : await ingest.SubmitAsync(stream, mapped.Events, ct);
                switch (outcome)
                {
                    case IngestOutcome.Stored stored:
                        duplicates = stored.Result.Duplicates;
                        break;
                    case IngestOutcome.Refused refused:
                        self.IngestEvents(SelfMetrics.Otlp, rejected: mapped.Events.Count + mapped.Rejected);
                        return OtlpOutcome.Failed(OtlpResult.Refused, "nothing was stored: " +
                            string.Join("; ", refused.Problems.Take(5).Select(p => $"span {p.Index}: {p.Field} {p.Problem}")));
                    case IngestOutcome.Saturated saturated:
                        return OtlpOutcome.Failed(OtlpResult.Unavailable, $"busy, nothing was stored: {saturated.Reason}", saturated.RetryAfter);
                    case IngestOutcome.Failed failed:
                        log.LogError(failed.Error, "OTLP export of {Count} events failed ({Outcome}); the exporter will retry",
                            mapped.Events.Count, failed.NothingStored ? "rolled back" : "outcome unknown");
                        return OtlpOutcome.Failed(OtlpResult.Unavailable, failed.NothingStored
                            ? "the database refused the export and rolled it back: nothing was stored; retry"
                            : "the database connection failed while the export was written: retrying is safe (each span is stored once)",
                            RetryAfterUnavailable);
                }
            }
        }
        finally
        {
            stream?.Abandon();
        }
        metrics.Count(mapped.Events.Count, mapped.Skipped, mapped.Rejected);
        self.IngestEvents(SelfMetrics.Otlp, mapped.Events.Count - duplicates, duplicates, mapped.Rejected);
        var response = new ExportTraceServiceResponse();
        if (mapped.Rejected > 0)
        {
            response.PartialSuccess = new ExportTracePartialSuccess { RejectedSpans = mapped.Rejected, ErrorMessage = mapped.RejectedMessage };
            log.LogWarning("OTLP: {Rejected} span(s) rejected, {Stored} stored, {Skipped} skipped: {Problems}",
                mapped.Rejected, mapped.Events.Count, mapped.Skipped, mapped.RejectedMessage);
        }
        return new OtlpOutcome(OtlpResult.Accepted, response);
    }
}
