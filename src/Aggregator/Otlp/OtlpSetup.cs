using AgentMeter.Aggregator.Ingest;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AgentMeter.Aggregator.Otlp;

public static class OtlpSetup
{
    /// <summary>The OTLP receivers: OTLP/HTTP on the HTTP port, OTLP/gRPC on <c>Otlp__GrpcPort</c> (0: off).</summary>
    public static WebApplicationBuilder AddOtlp(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Otlp").Get<OtlpOptions>() ?? new OtlpOptions();
        if (options.Problem() is { } problem) throw new InvalidOperationException(problem);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<SpanMapper>();
        builder.Services.AddSingleton<OtlpProtobufReader>();
        builder.Services.AddSingleton<OtlpMetrics>();
        builder.Services.AddSingleton<OtlpReceiver>();
        builder.Services.AddGrpc();
        // A gRPC message is held to the body limit of JSON ingest (after decompression too).
        builder.Services.AddOptions<GrpcServiceOptions>().Configure<IngestOptions>((grpc, limits) =>
            grpc.MaxReceiveMessageSize = (int)Math.Min(limits.MaxBodyBytes, int.MaxValue));
        if (options.GrpcPort > 0) ListenForGrpc(builder, options.GrpcPort);
        return builder;
    }

    /// <summary>
    /// Listens on the gRPC port on every host the HTTP port listens on, so it is exactly as reachable
    /// (loopback only when no token is set): the listen URLs (<c>--urls</c>, <c>ASPNETCORE_URLS</c>,
    /// <c>HTTP_PORTS</c>) gain one URL per host, or, when Kestrel's endpoints are configured (which
    /// replace the URLs), the endpoints gain one. gRPC without TLS is HTTP/2 with prior knowledge:
    /// that port speaks nothing else.
    /// </summary>
    private static void ListenForGrpc(WebApplicationBuilder builder, int port)
    {
        var config = builder.Configuration;
        var endpoints = config.GetSection("Kestrel:Endpoints");
        var split = StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries;
        var urls = endpoints.Exists() ? endpoints.GetChildren().Select(e => e["Url"]).OfType<string>().Where(u => u.Length > 0).ToList()
            : config["urls"] is { Length: > 0 } listen ? listen.Split(';', split).ToList()
            : config["http_ports"] is { Length: > 0 } ports ? ports.Split(';', split).Select(p => $"http://*:{p}").ToList()
            : ["http://localhost:5000"]; // ASP.NET Core's own default
        var grpc = urls.Select(u => $"http://{BindingAddress.Parse(u).Host}:{port}").Distinct().ToList();
        if (endpoints.Exists())
            for (var i = 0; i < grpc.Count; i++) config[$"Kestrel:Endpoints:OtlpGrpc{i}:Url"] = grpc[i];
        else
            config["urls"] = string.Join(';', urls.Concat(grpc));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
        {
            if (listen.IPEndPoint?.Port == port) listen.Protocols = HttpProtocols.Http2;
        }));
    }
}
