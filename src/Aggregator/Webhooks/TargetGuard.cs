using System.Net;
using System.Net.Sockets;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>A webhook target the SSRF guard will not connect to; the message names host and range, never the URL.</summary>
public sealed class TargetRefusedException(string message) : Exception(message);

/// <summary>
/// SSRF guard. Direct: resolves a webhook host and refuses it when any address is internal —
/// loopback, link-local (cloud metadata 169.254.169.254 included), private, CGNAT, benchmarking,
/// IETF protocol assignments, site-local, multicast, reserved, unspecified — or a translation or
/// tunnel prefix (NAT64, 6to4, IPv4-compatible, Teredo; the IPv4 address such an address embeds, as
/// an IPv4-mapped one's, is judged too); the connection is then made to the very addresses that were
/// checked (<see cref="WebhookHttp"/>), so a second DNS answer cannot rebind it. Through an egress
/// proxy (<c>Webhooks__Proxy</c>) nothing is resolved here: the URL's host is judged as written — an
/// address literal by the same ranges, a name by the names that are internal by construction
/// (<see cref="InternalName"/>) — and the proxy resolves and connects. Exceptions:
/// <c>Webhooks__AllowedTargets</c> (<see cref="TargetAllowList"/>), or everything with
/// <c>Webhooks__AllowPrivateTargets=true</c> (labs and tests).
/// </summary>
public sealed class TargetGuard(WebhookOptions options)
{
    /// <summary>Private: a host-name entry of the allow-list may open it. Always: only a range entry (or AllowPrivateTargets).</summary>
    private enum Opens { ByName, ByRangeOnly }

    private sealed record Range(IPNetwork Net, string Name, Opens Opens, Func<IPAddress, IPAddress?>? Embedded = null);

    private static readonly Range[] Forbidden =
    [
        new(IPNetwork.Parse("0.0.0.0/8"), "unspecified", Opens.ByRangeOnly),
        new(IPNetwork.Parse("127.0.0.0/8"), "loopback", Opens.ByRangeOnly),
        new(IPNetwork.Parse("10.0.0.0/8"), "private", Opens.ByName),
        new(IPNetwork.Parse("172.16.0.0/12"), "private", Opens.ByName),
        new(IPNetwork.Parse("192.168.0.0/16"), "private", Opens.ByName),
        new(IPNetwork.Parse("100.64.0.0/10"), "carrier-grade NAT", Opens.ByName),
        new(IPNetwork.Parse("169.254.0.0/16"), "link-local / cloud metadata", Opens.ByRangeOnly),
        new(IPNetwork.Parse("192.0.0.0/24"), "IETF protocol assignments", Opens.ByName),
        new(IPNetwork.Parse("198.18.0.0/15"), "benchmarking", Opens.ByName),
        new(IPNetwork.Parse("224.0.0.0/4"), "multicast", Opens.ByRangeOnly),
        new(IPNetwork.Parse("240.0.0.0/4"), "reserved", Opens.ByRangeOnly),
        new(IPNetwork.Parse("::/128"), "unspecified", Opens.ByRangeOnly),
        new(IPNetwork.Parse("::1/128"), "loopback", Opens.ByRangeOnly),
        new(IPNetwork.Parse("::/96"), "IPv4-compatible", Opens.ByRangeOnly, a => Bytes(a, 12)),
        new(IPNetwork.Parse("64:ff9b::/96"), "NAT64", Opens.ByName, a => Bytes(a, 12)),
        // RFC 6052 layout for a /48 prefix: bits 64-71 are the reserved "u" octet.
        new(IPNetwork.Parse("64:ff9b:1::/48"), "local-use NAT64", Opens.ByName, a => Bytes(a, 6, 7, 9, 10)),
        new(IPNetwork.Parse("2002::/16"), "6to4", Opens.ByName, a => Bytes(a, 2)),
        // The client's IPv4 address, obfuscated (every bit inverted), in the last 32 bits.
        new(IPNetwork.Parse("2001::/32"), "Teredo", Opens.ByName, a => new IPAddress(a.GetAddressBytes()[12..].Select(b => (byte)~b).ToArray())),
        new(IPNetwork.Parse("fe80::/10"), "link-local", Opens.ByRangeOnly),
        new(IPNetwork.Parse("fec0::/10"), "site-local", Opens.ByName),
        new(IPNetwork.Parse("fc00::/7"), "private (unique local)", Opens.ByName),
        new(IPNetwork.Parse("ff00::/8"), "multicast", Opens.ByRangeOnly),
    ];

    private static IPAddress Bytes(IPAddress a, int from) => new(a.GetAddressBytes()[from..(from + 4)]);

    private static IPAddress Bytes(IPAddress a, params int[] at)
    {
        var bytes = a.GetAddressBytes();
        return new IPAddress(at.Select(i => bytes[i]).ToArray());
    }

    private readonly TargetAllowList _allowed = new(options.AllowedTargets);

    /// <summary>The range an address falls in when it may not be a webhook target (the embedded IPv4 judged too), else null.</summary>
    public static string? ForbiddenRange(IPAddress address) => Judge(address, null, hostAllowed: false);

    /// <summary>Why the address is refused, or null; the allow-list's ranges, and its host entries for ranges a name may open, are exceptions.</summary>
    private static string? Judge(IPAddress address, TargetAllowList? allowed, bool hostAllowed)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var range = Forbidden.FirstOrDefault(r => r.Net.BaseAddress.AddressFamily == address.AddressFamily && r.Net.Contains(address));
        if (range is null) return null;
        var open = allowed is not null && (allowed.AllowsAddress(address) || (hostAllowed && range.Opens == Opens.ByName));
        if (range.Embedded?.Invoke(address) is { } inner && Judge(inner, allowed, hostAllowed) is { } innerProblem)
            return $"{range.Name} {range.Net} embedding {inner}: {innerProblem}";
        return open ? null : $"{range.Name} {range.Net}";
    }

    private string Refusal(string host, string what) =>
        $"host {host} {what}; webhook targets must be public unless listed in Webhooks__AllowedTargets (or Webhooks__AllowPrivateTargets=true)";

    /// <summary>Direct connection: every address of the host, all checked; throws <see cref="TargetRefusedException"/> otherwise.</summary>
    public async Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal)) addresses = [literal];
        // A resolution failure (SocketException) is transient and left to the caller's retry.
        else addresses = await Dns.GetHostAddressesAsync(host, ct);
        Verify(host, addresses);
        return addresses;
    }

    /// <summary>Judges what a host resolved to: every address must be allowed.</summary>
    public void Verify(string host, IReadOnlyList<IPAddress> addresses)
    {
        if (addresses.Count == 0) throw new TargetRefusedException($"host {host} has no address");
        if (options.AllowPrivateTargets) return;
        var hostAllowed = _allowed.AllowsHost(host);
        foreach (var a in addresses)
            if (Judge(a, _allowed, hostAllowed) is { } problem)
                throw new TargetRefusedException(Refusal(host, $"resolves to {a} ({problem})"));
    }

    /// <summary>
    /// Through the proxy: the host as written in the URL, resolved by nobody here. An address literal
    /// is judged like a resolved address; a name is refused when it is internal by construction.
    /// Whatever a public-looking name resolves to is the proxy's to police.
    /// </summary>
    public void CheckForProxy(string host)
    {
        if (options.AllowPrivateTargets) return;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            if (Judge(literal, _allowed, hostAllowed: false) is { } problem) throw new TargetRefusedException(Refusal(host, $"is {problem}"));
            return;
        }
        if (!_allowed.AllowsHost(host) && InternalName(host) is { } why)
            throw new TargetRefusedException(Refusal(host, $"is {why}"));
    }

    /// <summary>Whether the URL's host may be handed on: resolved and judged directly, or judged as written for the proxy.</summary>
    public async Task CheckHostAsync(string host, CancellationToken ct)
    {
        if (options.Proxy is null) await ResolveAsync(host, ct);
        else CheckForProxy(host);
    }

    /// <summary>
    /// Names that are internal whatever a resolver answers: localhost, single-label names (resolved
    /// through the cluster's search domains: "kubernetes", "metadata"), and the suffixes of local,
    /// cluster and cloud-internal names.
    /// </summary>
    public static string? InternalName(string host)
    {
        host = host.TrimEnd('.').ToLowerInvariant();
        if (host == "localhost" || host.EndsWith(".localhost")) return "a loopback name";
        if (!host.Contains('.')) return "a single-label name (resolved through search domains)";
        foreach (var suffix in new[] { ".local", ".internal", ".cluster.local", ".svc", ".home.arpa", ".localdomain" })
            if (host.EndsWith(suffix)) return $"an internal name (*{suffix})";
        return null;
    }
}
