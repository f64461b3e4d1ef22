using System.Net.Sockets;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// The one HttpClient webhooks go out through: every connection is opened by the SSRF guard to an
/// address it checked, redirects are not followed (a 3xx is a failed attempt), and nothing logs URLs.
/// </summary>
public sealed class WebhookHttp : IDisposable
{
    public HttpClient Client { get; }

    public WebhookHttp(TargetGuard guard)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = async (context, ct) =>
            {
                var addresses = await guard.ResolveAsync(context.DnsEndPoint.Host, ct);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        // Per-attempt timeouts come from the resilience pipeline.
        Client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        Client.DefaultRequestHeaders.UserAgent.ParseAdd("agentmeter-webhooks/1");
    }

    public void Dispose() => Client.Dispose();
}
