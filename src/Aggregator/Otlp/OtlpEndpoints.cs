using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AgentMeter.Aggregator.Otlp;

public static class OtlpEndpoints
{
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
