using System.Net.Http.Headers;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Aggregator.Tests.Retention;

/// <summary>
/// The real app at 2026-11-29 12:00 UTC (a clock that stands still, so no background job runs a
/// day early) over raw events of <c>first</c>…<c>last</c> aggregated by the real daily aggregation
/// before it starts serving, and a client that bypasses the answer cache.
/// </summary>
public sealed class AggregatedApp : IAsyncDisposable
{
    public const string AdminToken = "admin-secret";

    private AggregatedApp(WebApplication app, HttpClient client)
    {
        App = app;
        Client = client;
    }

    public WebApplication App { get; }
    public IServiceProvider Services => App.Services;
    /// <summary>Sends the admin token.</summary>
    public HttpClient Client { get; }

    public static async Task<AggregatedApp> StartAsync(DatabaseFixture db, DateOnly first, DateOnly last, Func<Task>? beforeServing = null)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var app = AggregatorApp.Build(CommandLine.Parse(["serve", "--urls", "http://127.0.0.1:0"]), b =>
        {
            b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = db.ConnectionString;
            b.Configuration["Auth:AdminToken"] = AdminToken;
            b.Configuration["Otlp:GrpcPort"] = "0"; // hosts run side by side
            b.Services.AddSingleton<TimeProvider>(clock);
            b.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await app.Services.MigrateAsync();
        await EndToEndRetentionTests.WriteEventsAsync(db, first, last);
        foreach (var r in await app.Services.GetRequiredService<DailyAggregator>().AggregateRangeAsync(first, last, CancellationToken.None))
            Assert.Equal(DayOutcome.Aggregated, r.Outcome);
        if (beforeServing is not null) await beforeServing();
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
        client.DefaultRequestHeaders.CacheControl = new() { NoCache = true };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return new AggregatedApp(app, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
