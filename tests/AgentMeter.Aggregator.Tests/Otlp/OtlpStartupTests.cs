using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>Where the receivers listen, what the startup log says about them, and settings that cannot work.</summary>
public sealed class OtlpStartupTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task TheStartupLogNamesBothEndpointsAndGrpcListensWhereHttpDoes()
    {
        var logs = new LogCapture();
        await using var host = await OtlpHost.StartAsync(db.ConnectionString, configure: b =>
        {
            b.Logging.AddProvider(logs);
            b.Logging.AddFilter("AgentMeter.Aggregator.Otlp", LogLevel.Information);
        });

        var http = host.Host.BaseAddress.ToString().TrimEnd('/');
        Assert.Contains(logs.Lines, l => l.Contains($"OTLP/HTTP: POST {http}/v1/traces") &&
            l.Contains($"OTLP/gRPC: opentelemetry.proto.collector.trace.v1.TraceService/Export on http://127.0.0.1:{host.GrpcPort} (HTTP/2, no TLS)"));
        Assert.Equal(new[] { http, $"http://127.0.0.1:{host.GrpcPort}" }.Order(),
            host.Host.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Order());
    }

    [Fact]
    public async Task PortZeroTurnsGrpcOff()
    {
        var logs = new LogCapture();
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Otlp:GrpcPort"] = "0" },
            configure: b =>
            {
                b.Logging.AddProvider(logs);
                b.Logging.AddFilter("AgentMeter.Aggregator.Otlp", LogLevel.Information);
            });
        Assert.Contains(logs.Lines, l => l.Contains("OTLP/gRPC: off (Otlp__GrpcPort=0)"));
        Assert.Single(host.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses);
    }

    [Theory]
    [InlineData("Otlp:GrpcPort", "70000", "Otlp__GrpcPort must be a TCP port (1-65535) or 0 (off), got 70000")]
    [InlineData("Otlp:TenantAttribute", " ", "Otlp__TenantAttribute must name an attribute")]
    public void ASettingThatCannotWorkStopsTheStartWithWhatToFix(string key, string value, string message)
    {
        var e = Assert.Throws<InvalidOperationException>(() => AggregatorApp.Build(CommandLine.Parse(["serve", "--urls", "http://127.0.0.1:0"]),
            b =>
            {
                b.Configuration[$"ConnectionStrings:{AgentMeter.Aggregator.Database.DatabaseSetup.ConnectionStringName}"] = db.ConnectionString;
                b.Configuration[key] = value;
            }));
        Assert.Contains(message, e.Message);
    }
}
