using AgentMeter.Aggregator.Otlp.Proto.Collector;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RetryInfo = AgentMeter.Aggregator.Otlp.Proto.Rpc.RetryInfo;
using RpcStatus = AgentMeter.Aggregator.Otlp.Proto.Rpc.Status;

namespace AgentMeter.Aggregator.Otlp;

/// <summary>An OTLP/gRPC request as decoded on the way in: the message, or why it could not be read.</summary>
public sealed record OtlpGrpcRequest(ExportTraceServiceRequest? Request, string? Problem);

/// <summary>
/// OTLP/gRPC: <c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c>. Bound by hand
/// rather than through a generated stub, so that its request marshaller is ours: a message that is
/// not valid protobuf becomes INVALID_ARGUMENT with the reason (the framework would answer a generic
/// error), and fields this receiver does not declare are discarded, not kept. The token comes in the
/// <c>authorization</c> metadata, as the HTTP header does.
/// </summary>
[BindServiceMethod(typeof(OtlpGrpcService), nameof(BindService))]
public class OtlpGrpcService(OtlpReceiver receiver)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = TraceServiceReflection.Descriptor.Services.Single();

    public static readonly Method<OtlpGrpcRequest, ExportTraceServiceResponse> ExportMethod = new(
        MethodType.Unary, Service.FullName, Service.Methods.Single().Name,
        Marshallers.Create<OtlpGrpcRequest>(
            (_, _) => throw new NotSupportedException("the server never sends a request"),
            context =>
            {
                try
                {
                    return new OtlpGrpcRequest(OtlpReceiver.RequestParser.ParseFrom(context.PayloadAsReadOnlySequence()), null);
                }
                catch (InvalidProtocolBufferException e)
                {
                    return new OtlpGrpcRequest(null, e.Message);
                }
            }),
        Marshallers.Create<ExportTraceServiceResponse>(r => r.ToByteArray(), ExportTraceServiceResponse.Parser.ParseFrom));

    /// <summary>Called by Grpc.AspNetCore (with no instance) to learn the methods; each call then gets an instance from DI.</summary>
    public static void BindService(ServiceBinderBase binder, OtlpGrpcService? service) =>
        binder.AddMethod(ExportMethod, service is null ? null : service.Export);

    /// <summary>Virtual because Grpc.AspNetCore binds the method that overrides (here: is) the one of the type BindService names.</summary>
    public virtual async Task<ExportTraceServiceResponse> Export(OtlpGrpcRequest request, ServerCallContext context)
    {
        var outcome = await receiver.RefusalAsync(context.GetHttpContext().User)
                      ?? (request.Request is { } decoded
                          ? await receiver.ExportAsync(decoded, context.CancellationToken)
                          : OtlpOutcome.Failed(OtlpResult.Unreadable, $"the message is not a protobuf ExportTraceServiceRequest: {request.Problem}"));
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
