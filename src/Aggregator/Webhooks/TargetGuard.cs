using System.Net;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>A webhook target the SSRF guard will not connect to; the message names host and range, never the URL.</summary>
public sealed class TargetRefusedException(string message) : Exception(message);

/// <summary>
/// SSRF guard: resolves a webhook host and refuses it when any address is loopback, link-local
/// (cloud metadata 169.254.169.254 included), private, CGNAT, multicast or unspecified — unless
/// <c>Webhooks__AllowPrivateTargets=true</c>. The connection is then made to the very addresses that
/// were checked (see <see cref="WebhookHttp"/>), so a second DNS answer cannot rebind it.
/// </summary>
public sealed class TargetGuard(WebhookOptions options)
{
    private static readonly (IPNetwork Net, string Name)[] Forbidden =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "unspecified"),
        (IPNetwork.Parse("127.0.0.0/8"), "loopback"),
        (IPNetwork.Parse("10.0.0.0/8"), "private"),
        (IPNetwork.Parse("172.16.0.0/12"), "private"),
        (IPNetwork.Parse("192.168.0.0/16"), "private"),
        (IPNetwork.Parse("100.64.0.0/10"), "carrier-grade NAT"),
        (IPNetwork.Parse("169.254.0.0/16"), "link-local / cloud metadata"),
        (IPNetwork.Parse("224.0.0.0/4"), "multicast"),
        (IPNetwork.Parse("240.0.0.0/4"), "reserved"),
        (IPNetwork.Parse("::/128"), "unspecified"),
        (IPNetwork.Parse("::1/128"), "loopback"),
        (IPNetwork.Parse("fe80::/10"), "link-local"),
        (IPNetwork.Parse("fc00::/7"), "private (unique local)"),
        (IPNetwork.Parse("ff00::/8"), "multicast"),
    ];

    /// <summary>The range an address falls in when it may not be a webhook target, else null.</summary>
    public static string? ForbiddenRange(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var (net, name) in Forbidden)
            if (net.BaseAddress.AddressFamily == address.AddressFamily && net.Contains(address))
                return $"{name} {net}";
        return null;
    }

    /// <summary>Every address of the host, all checked; throws <see cref="TargetRefusedException"/> otherwise.</summary>
    public async Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal)) addresses = [literal];
        // A resolution failure (SocketException) is transient and left to the caller's retry.
        else addresses = await Dns.GetHostAddressesAsync(host, ct);
        if (addresses.Length == 0) throw new TargetRefusedException($"host {host} has no address");
        if (options.AllowPrivateTargets) return addresses;
        foreach (var a in addresses)
            if (ForbiddenRange(a) is { } range)
                throw new TargetRefusedException(
                    $"host {host} resolves to {a} ({range}); webhook targets must be public unless Webhooks__AllowPrivateTargets=true");
        return addresses;
    }
}
