using System.Buffers;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Otlp.Proto.Collector;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RetryInfo = AgentMeter.Aggregator.Otlp.Proto.Rpc.RetryInfo;
using RpcStatus = AgentMeter.Aggregator.Otlp.Proto.Rpc.Status;

namespace AgentMeter.Aggregator.Otlp;

/// <summary>An OTLP/gRPC request message as received: its bytes, in a pooled buffer the handler returns.</summary>
public sealed record OtlpGrpcRequest(byte[] Buffer, int Length);

/// <summary>
/// OTLP/gRPC: <c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c>. Bound by hand
/// rather than through a generated stub, so that the request is read by the same
/// <see cref="OtlpProtobufReader"/> as OTLP/HTTP's, after the token is checked, and a message that
/// cannot be read becomes INVALID_ARGUMENT with the reason (a failing marshaller would make the
/// framework answer a generic error). The token comes in the <c>authorization</c> metadata, as the
/// HTTP header does.
/// </summary>
[BindServiceMethod(typeof(OtlpGrpcService), nameof(BindService))]
public class OtlpGrpcService(OtlpReceiver receiver, OtlpProtobufReader protobuf, IngestMemoryBudget budget)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = TraceServiceReflection.Descriptor.Services.Single();

    public static readonly Method<OtlpGrpcRequest, ExportTraceServiceResponse> ExportMethod = new(
        MethodType.Unary, Service.FullName, Service.Methods.Single().Name,
        Marshallers.Create<OtlpGrpcRequest>(
            (_, _) => throw new NotSupportedException("the server never sends a request"),
            context =>
            {
                // Pooled: a batch of 1,000 spans is ~400 KB, which would land on the large object heap.
                var payload = context.PayloadAsReadOnlySequence();
                var buffer = ArrayPool<byte>.Shared.Rent((int)payload.Length);
                payload.CopyTo(buffer);
                return new OtlpGrpcRequest(buffer, (int)payload.Length);
            }),
        Marshallers.Create<ExportTraceServiceResponse>(r => r.ToByteArray(), ExportTraceServiceResponse.Parser.ParseFrom));

    /// <summary>Called by Grpc.AspNetCore (with no instance) to learn the methods; each call then gets an instance from DI.</summary>
    public static void BindService(ServiceBinderBase binder, OtlpGrpcService? service) =>
        binder.AddMethod(ExportMethod, service is null ? null : service.Export);

    /// <summary>Virtual because Grpc.AspNetCore binds the method that overrides (here: is) the one of the type BindService names.</summary>
    public virtual async Task<ExportTraceServiceResponse> Export(OtlpGrpcRequest request, ServerCallContext context)
    {
        ExportTraceServiceRequest? decoded = null;
        var caller = context.GetHttpContext().User;
        var outcome = await receiver.RefusalAsync(caller);
        // The same memory budget as JSON ingest (the message is already read: it and its events), held until stored.
        using var lease = budget.TryTake(IngestEndpoints.ReadCost(request.Length));
        if (outcome is null && lease is null)
            outcome = OtlpReceiver.Busy(budget);
        try
        {
            if (outcome is null) decoded = protobuf.Read(request.Buffer.AsSpan(0, request.Length));
        }
        catch (InvalidDataException e)
        {
            outcome = OtlpOutcome.Failed(OtlpResult.Unreadable, $"the message is not a protobuf ExportTraceServiceRequest: {e.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(request.Buffer);
        }
        outcome ??= await receiver.ExportAsync(decoded!, caller, context.CancellationToken);
        if (outcome.Result == OtlpResult.Accepted) return outcome.Response!;
        throw new RpcException(new Grpc.Core.Status(outcome.GrpcStatus, outcome.Message ?? ""), Details(outcome));
    }

    /// <summary>When to retry, as OTLP/gRPC clients read it: RetryInfo in the grpc-status-details-bin trailer.</summary>
    private static Metadata Details(OtlpOutcome outcome)
    {
        var trailers = new Metadata();
        if (outcome.RetryAfter is { } wait)
        {
            var status = new RpcStatus { Code = (int)outcome.GrpcStatus, Message = outcome.Message ?? "" };
            status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(wait) }));
            trailers.Add("grpc-status-details-bin", status.ToByteArray());
        }
        return trailers;
    }
}
