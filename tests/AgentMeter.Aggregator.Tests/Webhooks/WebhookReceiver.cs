using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace AgentMeter.Aggregator.Tests.Webhooks;

/// <summary>A real HTTP receiver on a loopback port that records every request and answers as told.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Received(string Path, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
    }

    private readonly WebApplication _app;
    public ConcurrentQueue<Received> Requests { get; } = new();
    /// <summary>Status for the n-th request (1-based); may wait to simulate a hanging receiver.</summary>
    public Func<int, Task<int>> Respond { get; set; } = _ => Task.FromResult(200);
    public Uri BaseAddress { get; }
    private int _count;

    private WebhookReceiver(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        WebhookReceiver? self = null;
        app.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            var r = self!;
            r.Requests.Enqueue(new Received(ctx.Request.Path + ctx.Request.QueryString,
                ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), body));
            var n = Interlocked.Increment(ref r._count);
            var status = await r.Respond(n);
            ctx.Response.StatusCode = status;
            if (status is >= 300 and < 400) ctx.Response.Headers.Location = "http://127.0.0.1:1/elsewhere";
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new WebhookReceiver(app, new Uri(address));
        return self;
    }

    public string Url(string path = "/hook") => new Uri(BaseAddress, path).ToString();

    /// <summary>Waits until at least <paramref name="count"/> requests arrived.</summary>
    public async Task WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (Requests.Count < count)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"receiver got {Requests.Count} of {count} requests");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
