using System.Text;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;

namespace AgentMeter.Aggregator.Resources;

/// <summary>
/// The operator's hand-off objects as <see cref="HandOffWatcher"/> last saw them: each ConfigMap parsed once when it
/// changes, and per source namespace the keys of its Secret <c>agentmeter-webhook-secrets-&lt;ns&gt;</c>. Inactive
/// (nothing is watched) unless <c>Resources__Namespace</c> is set; then webhook Secret keys come only from here.
/// </summary>
public sealed class HandOffCache(ResourceOptions options)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LoadedResources> _configMaps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _secrets = new(StringComparer.Ordinal);

    /// <summary>Whether the aggregator reads hand-off objects from the API server (else only files).</summary>
    public bool Active => options.Namespace.Length > 0;

    /// <summary>Bumped on every change, so <see cref="ResourceStore"/> sees that it must reload.</summary>
    public long Version { get { lock (_gate) return _version; } }
    private long _version;

    /// <summary>Replaces every ConfigMap (after a list) or one of them (after a watch event; null = deleted).</summary>
    public void SetConfigMaps(IEnumerable<(string Name, string? Yaml)> configMaps, bool replaceAll)
    {
        var parsed = configMaps.Select(c => (c.Name, Loaded: c.Yaml is null ? null : ResourceDocuments.Read(c.Yaml, $"ConfigMap {c.Name}", options.Rules))).ToList();
        lock (_gate)
        {
            if (replaceAll) _configMaps.Clear();
            foreach (var (name, loaded) in parsed)
                if (loaded is null) _configMaps.Remove(name);
                else _configMaps[name] = loaded;
            _version++;
        }
    }

    /// <summary>Replaces every Secret (after a list) or one of them (null data = deleted), keyed by the namespace whose keys it holds.</summary>
    public void SetSecrets(IEnumerable<(string SourceNamespace, IReadOnlyDictionary<string, byte[]>? Data)> secrets, bool replaceAll)
    {
        lock (_gate)
        {
            if (replaceAll) _secrets.Clear();
            foreach (var (ns, data) in secrets)
                if (data is null) _secrets.Remove(ns);
                else _secrets[ns] = data.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value).Trim(), StringComparer.Ordinal);
            _version++;
        }
    }

    /// <summary>Every resource and problem of the ConfigMaps, in name order.</summary>
    public LoadedResources Resources()
    {
        lock (_gate)
        {
            var ordered = _configMaps.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Value).ToList();
            return new LoadedResources(ordered.SelectMany(l => l.Resources).ToList(), ordered.SelectMany(l => l.Problems).ToList());
        }
    }

    /// <summary>A key of namespace <paramref name="ns"/>'s Secret, and nothing of any other namespace's.</summary>
    public bool TryGetSecret(string ns, SecretKeyRef reference, out string value)
    {
        lock (_gate)
        {
            string? found = null;
            var ok = _secrets.TryGetValue(ns, out var keys) && keys.TryGetValue(HandOff.SecretKey(reference), out found);
            value = found ?? "";
            return ok;
        }
    }
}
