using System.Security.Cryptography;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using k8s;
using k8s.Models;

namespace AgentMeter.Aggregator.Resources;

/// <summary>
/// The resources in force: of the files (polled by content hash, which also sees the symlink swap of a mounted
/// ConfigMap) and of the hand-off ConfigMaps <see cref="HandOffWatcher"/> watches (reloaded on each change). A
/// resource that was valid and is now invalid keeps its last valid version in force, so a typo never drops a price
/// or an alert.
/// </summary>
public sealed class ResourceStore(ResourceOptions options, ILogger<ResourceStore> log, TimeProvider time, HandOffCache? handOff = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, IKubernetesObject<V1ObjectMeta>> _lastValid = [];
    private string _hash = "";

    public ResourceSet Current { get; private set; } = ResourceSet.Empty;

    /// <summary>Raised after a reload that changed the set in force.</summary>
    public event Action<ResourceSet>? Changed;

    /// <summary>Reads the files now; returns true when anything changed.</summary>
    public bool Reload()
    {
        lock (_gate)
        {
            var hash = ContentHash();
            if (hash == _hash && Current != ResourceSet.Empty) return false;
            _hash = hash;
            var loaded = ResourceLoader.LoadPaths(options.Paths, options.Rules);
            if (handOff is { Active: true })
            {
                var watched = handOff.Resources();
                loaded = new LoadedResources([.. loaded.Resources, .. watched.Resources], [.. loaded.Problems, .. watched.Problems]);
            }
            var present = new Dictionary<string, IKubernetesObject<V1ObjectMeta>>();
            foreach (var r in loaded.Resources)
                present[Key(r.Kind, r.Metadata.NamespaceProperty, r.Metadata.Name)] = r;
            foreach (var p in loaded.Problems)
            {
                if (p.Ignored) { log.LogInformation("Resource file: {Problem}", p.ToString()); continue; }
                log.LogWarning("Resource skipped: {Problem}", p.ToString());
                // Still present but broken: keep the last valid version in force.
                var key = Key(p.Kind, p.Namespace, p.Name);
                if (_lastValid.TryGetValue(key, out var previous)) present.TryAdd(key, previous);
            }
            _lastValid.Clear();
            foreach (var kv in present) _lastValid[kv.Key] = kv.Value;

            Current = new ResourceSet(
                present.Values.OfType<CostRate>().OrderBy(r => r.Metadata.Name).ToList(),
                present.Values.OfType<UsageAlert>().OrderBy(r => r.Metadata.NamespaceProperty).ThenBy(r => r.Metadata.Name).ToList(),
                present.Values.OfType<RetentionPolicy>().OrderBy(r => r.Metadata.Name).ToList(),
                loaded.Problems,
                time.GetUtcNow())
            {
                Budgets = present.Values.OfType<Budget>().OrderBy(r => r.Metadata.NamespaceProperty).ThenBy(r => r.Metadata.Name).ToList(),
            };
            log.LogInformation("Resources loaded: {CostRates} CostRate, {UsageAlerts} UsageAlert, {Policies} RetentionPolicy, {Budgets} Budget, {Problems} problem(s)",
                Current.CostRates.Count, Current.UsageAlerts.Count, Current.RetentionPolicies.Count, Current.Budgets.Count, Current.Problems.Count);
        }
        Changed?.Invoke(Current);
        return true;
    }

    private static string Key(string? kind, string? ns, string? name) => $"{kind}/{ns ?? ""}/{name}";

    private string ContentHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (handOff is { Active: true }) sha.AppendData(BitConverter.GetBytes(handOff.Version));
        foreach (var path in options.Paths)
            foreach (var file in ResourceLoader.Files(path))
            {
                sha.AppendData(System.Text.Encoding.UTF8.GetBytes(file));
                try { sha.AppendData(File.ReadAllBytes(file)); }
                catch (IOException) { /* vanished between listing and reading: the next poll sees it */ }
            }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
