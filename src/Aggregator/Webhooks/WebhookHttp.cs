using System.Net;
using System.Net.Sockets;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// The one HttpClient webhooks go out through: redirects are not followed (a 3xx is a failed
/// attempt), nothing logs URLs. Directly, every connection is opened by the SSRF guard to an address
/// it checked. Through <c>Webhooks__Proxy</c>, the guard judges each request's host before it is
/// handed to the proxy, and the only connection ever opened is the one to the proxy.
/// </summary>
public sealed class WebhookHttp : IDisposable
{
    public HttpClient Client { get; }

    public WebhookHttp(TargetGuard guard, WebhookOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = options.Proxy is not null,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        HttpMessageHandler pipeline;
        if (options.Proxy is { } proxy)
        {
            handler.Proxy = new EgressProxy(proxy);
            handler.ConnectCallback = async (context, ct) =>
            {
                // Defence in depth: the handler must never connect anywhere but to the proxy.
                if (!string.Equals(context.DnsEndPoint.Host, proxy.IdnHost, StringComparison.OrdinalIgnoreCase) || context.DnsEndPoint.Port != proxy.Port)
                    throw new TargetRefusedException($"a connection to {context.DnsEndPoint.Host} would bypass Webhooks__Proxy");
                return await ConnectAsync(await Dns.GetHostAddressesAsync(proxy.IdnHost, ct), proxy.Port, ct);
            };
            pipeline = new ProxyTargetCheck(guard) { InnerHandler = handler };
        }
        else
        {
            handler.ConnectCallback = async (context, ct) =>
                await ConnectAsync(await guard.ResolveAsync(context.DnsEndPoint.Host, ct), context.DnsEndPoint.Port, ct);
            pipeline = handler;
        }
        // Per-attempt timeouts come from the resilience pipeline.
        Client = new HttpClient(pipeline) { Timeout = Timeout.InfiniteTimeSpan };
        Client.DefaultRequestHeaders.UserAgent.ParseAdd("agentmeter-webhooks/1");
    }

    private static async ValueTask<Stream> ConnectAsync(IPAddress[] addresses, int port, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Every request through the one proxy, loopback targets included (WebProxy would bypass those and connect directly).</summary>
    private sealed class EgressProxy(Uri proxy) : IWebProxy
    {
        public ICredentials? Credentials { get; set; } = proxy.UserInfo.Split(':', 2) is [{ Length: > 0 } user, var password]
            ? new NetworkCredential(Uri.UnescapeDataString(user), Uri.UnescapeDataString(password))
            : null;

        public Uri GetProxy(Uri destination) => proxy;
        public bool IsBypassed(Uri host) => false;
    }

    /// <summary>Judges the request's host as written before the proxy is asked to reach it.</summary>
    private sealed class ProxyTargetCheck(TargetGuard guard) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            try
            {
                guard.CheckForProxy(request.RequestUri!.IdnHost);
            }
            catch (TargetRefusedException e)
            {
                throw new HttpRequestException(e.Message, e);
            }
            return base.SendAsync(request, ct);
        }
    }

    public void Dispose() => Client.Dispose();
}
