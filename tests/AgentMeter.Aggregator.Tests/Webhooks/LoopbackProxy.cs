using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentMeter.Aggregator.Tests.Webhooks;

/// <summary>
/// A tiny real HTTP forward proxy on a loopback port: absolute-form requests (<c>POST http://host/…</c>)
/// are forwarded, <c>CONNECT host:port</c> is tunnelled. It resolves host names itself, from
/// <see cref="Hosts"/> (name → loopback port) — names the aggregator could not resolve — and records
/// the request line of everything it is asked.
/// </summary>
public sealed class LoopbackProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public ConcurrentDictionary<string, int> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);
    public ConcurrentQueue<string> RequestLines { get; } = new();
    public Uri Address { get; }

    public LoopbackProxy()
    {
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            var head = await ReadHeadAsync(stream);
            if (head is null) return;
            var lines = head.Split("\r\n");
            RequestLines.Enqueue(lines[0]);
            var parts = lines[0].Split(' ');
            if (parts[0] == "CONNECT")
            {
                var hostPort = parts[1].Split(':');
                using var target = await ConnectAsync(hostPort[0], int.Parse(hostPort[1]));
                await stream.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray());
                var upstream = target.GetStream();
                await Task.WhenAny(stream.CopyToAsync(upstream), upstream.CopyToAsync(stream));
                return;
            }
            // Absolute form: forward to the origin in origin form, one request per connection.
            var uri = new Uri(parts[1]);
            var length = lines.Skip(1).Select(l => l.Split(':', 2)).Where(h => h.Length == 2 && h[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                .Select(h => int.Parse(h[1].Trim())).FirstOrDefault();
            var body = new byte[length];
            await stream.ReadExactlyAsync(body);
            using var origin = await ConnectAsync(uri.Host, uri.Port);
            var headers = lines.Skip(1).Where(l => l.Length > 0 && !l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase)
                                                                && !l.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase));
            var request = $"{parts[0]} {uri.PathAndQuery} {parts[2]}\r\n{string.Join("\r\n", headers)}\r\nConnection: close\r\n\r\n";
            var originStream = origin.GetStream();
            await originStream.WriteAsync(Encoding.ASCII.GetBytes(request));
            await originStream.WriteAsync(body);
            await originStream.CopyToAsync(stream);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // A client or origin that hung up: nothing to forward.
        }
    }

    private async Task<TcpClient> ConnectAsync(string host, int port)
    {
        var target = new TcpClient();
        await target.ConnectAsync(IPAddress.Loopback, Hosts.TryGetValue(host, out var mapped) ? mapped : port);
        return target;
    }

    /// <summary>The request line and headers, up to the blank line, read byte by byte so no body byte is taken.</summary>
    private static async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n"))
        {
            if (await stream.ReadAsync(one) == 0) return null;
            head.Append((char)one[0]);
        }
        return head.ToString()[..^4];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
    }
}
