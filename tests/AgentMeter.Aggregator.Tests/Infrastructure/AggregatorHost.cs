using System.Net.Http.Headers;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Otlp;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AgentMeter.Aggregator.Tests.Infrastructure;

/// <summary>
/// The real aggregator (same composition as the binary) on a free loopback port, against a given
/// database, with extra configuration such as tokens or resource paths.
/// </summary>
public sealed class AggregatorHost : IAsyncDisposable
{
    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public IServiceProvider Services => App.Services;

    private AggregatorHost(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
    }

    private const string MaxEventAge = "Ingest:MaxEventAge";

    public static async Task<AggregatorHost> StartAsync(
        string connectionString, IDictionary<string, string?>? settings = null, string[]? args = null, string verb = "serve",
        Action<IServiceCollection>? services = null, Action<WebApplicationBuilder>? configure = null,
        Func<WebApplication, Task>? beforeStart = null)
    {
        var cli = CommandLine.Parse([verb, .. args ?? [], "--urls", "http://127.0.0.1:0"]);
        var app = AggregatorApp.Build(cli, b =>
        {
            b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = connectionString;
            // No OTLP/gRPC port unless a test asks for one: hosts run side by side.
            b.Configuration["Otlp:GrpcPort"] = "0";
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            // Tests post events of fixed dates, months and years back: no age limit unless a test names
            // one (null: the aggregator's default).
            if (settings?.ContainsKey(MaxEventAge) != true)
                b.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [MaxEventAge] = "36500.00:00:00" });
            if (settings is not null) b.Configuration.AddInMemoryCollection(settings.Where(kv => kv.Key != MaxEventAge || kv.Value is not null));
            services?.Invoke(b.Services);
            configure?.Invoke(b);
        });
        await app.Services.MigrateAsync();
        // What the binary does between migrating and running, e.g. the demo verb's seeding (before
        // the aggregation scheduler's first catch-up, which would otherwise close half-seeded days).
        if (beforeStart is not null) await beforeStart(app);
        await app.StartAsync();
        // Tests write raw events of closed days right after start: the catch-up at start must not race them.
        if (app.Services.GetService<AggregationScheduler>() is { } scheduler)
            await Task.WhenAny(scheduler.CaughtUpAtStart, Task.Delay(TimeSpan.FromSeconds(30)));
        var grpcPort = app.Services.GetRequiredService<OtlpOptions>().GrpcPort;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => new Uri(a).Port != grpcPort);
        return new AggregatorHost(app, new Uri(address));
    }

    public HttpClient Client(string? token = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
