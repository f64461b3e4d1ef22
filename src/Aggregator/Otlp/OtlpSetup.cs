using AgentMeter.Aggregator.Ingest;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
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

    public static void MapOtlp(this WebApplication app)
    {
        app.MapOtlpHttp();
        app.MapGrpcService<OtlpGrpcService>().AllowAnonymous(); // the service answers UNAUTHENTICATED itself
        var options = app.Services.GetRequiredService<OtlpOptions>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AgentMeter.Aggregator.Otlp");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
            var grpc = addresses.Where(a => options.GrpcPort > 0 && new Uri(a).Port == options.GrpcPort).ToList();
            var http = addresses.Except(grpc).Select(a => a.TrimEnd('/') + OtlpHttpEndpoint.Path);
            log.LogInformation("OTLP/HTTP: POST {HttpEndpoints} (application/x-protobuf or application/json, gzip accepted); OTLP/gRPC: {GrpcEndpoints}",
                string.Join(", ", http),
                grpc.Count > 0 ? $"{OtlpGrpcService.ExportMethod.FullName.TrimStart('/')} on {string.Join(", ", grpc)} (HTTP/2, no TLS)" : "off (Otlp__GrpcPort=0)");
        });
    }
}
