using System.Net;

namespace AgentMeter.Aggregator.Webhooks;

/// <summary>
/// <c>Webhooks__AllowedTargets</c>: the exceptions to the SSRF guard a production setup names instead
/// of <c>Webhooks__AllowPrivateTargets</c>. Each entry is an address range in CIDR notation
/// (<c>10.20.0.0/16</c>, <c>fd00:1::/64</c>) or a single address, which lets any address in it
/// through; or a host name (<c>hooks.corp.example</c>) or a name suffix (<c>*.corp.example</c>),
/// which may resolve to private ranges — never to loopback, link-local (cloud metadata),
/// unspecified, multicast or reserved addresses, which only a range entry can open.
/// </summary>
public sealed class TargetAllowList
{
    private readonly List<IPNetwork> _ranges = [];
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _suffixes = [];

    public TargetAllowList(IEnumerable<string> entries)
    {
        foreach (var raw in entries)
        {
            var entry = raw.Trim();
            if (entry.Length == 0) continue;
            if (IPNetwork.TryParse(entry, out var range)) _ranges.Add(range);
            else if (IPAddress.TryParse(entry.Trim('[', ']'), out var single)) _ranges.Add(new IPNetwork(single, single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            else if (entry.StartsWith("*.") && Uri.CheckHostName(entry[2..]) == UriHostNameType.Dns) _suffixes.Add(entry[1..].ToLowerInvariant());
            else if (Uri.CheckHostName(entry) == UriHostNameType.Dns && !entry.Contains('/')) _hosts.Add(entry);
            else
                throw new InvalidOperationException(
                    $"Webhooks__AllowedTargets entry \"{entry}\" is not an address range (10.20.0.0/16), an address, a host name or *.suffix");
        }
    }

    public bool IsEmpty => _ranges.Count == 0 && _hosts.Count == 0 && _suffixes.Count == 0;

    /// <summary>The host name is listed (exactly, or under a listed *.suffix).</summary>
    public bool AllowsHost(string host)
    {
        host = host.TrimEnd('.');
        return _hosts.Contains(host) || _suffixes.Any(s => host.EndsWith(s, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The address lies in a listed range.</summary>
    public bool AllowsAddress(IPAddress address) =>
        _ranges.Any(r => r.BaseAddress.AddressFamily == address.AddressFamily && r.Contains(address));
}
