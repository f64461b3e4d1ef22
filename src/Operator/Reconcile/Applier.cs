using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using AgentMeter.Operator.Controller;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Reconcile;

/// <summary>
/// Applies desired objects only when something changed: it remembers what it applied and the resourceVersion
/// the server answered, and re-applies when either the desired body or the live object (someone else's edit,
/// a deletion) differs. A steady cluster therefore sees reads and no writes.
/// </summary>
public sealed class Applier(ObjectApi api, OperatorMetrics metrics)
{
    private readonly ConcurrentDictionary<string, (string Hash, string? ResourceVersion)> _applied = new();

    /// <summary>Applies <paramref name="desired"/> if needed; true when a write was made.</summary>
    public async Task<bool> EnsureAsync(DesiredObject desired, CancellationToken ct)
    {
        var key = desired.ToString();
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(desired.Body.ToJsonString())));
        if (_applied.TryGetValue(key, out var last) && last.Hash == hash)
        {
            var live = await api.GetAsync(desired.Kind, desired.Namespace!, desired.Name, ct);
            if (live is not null && ResourceVersion(live) == last.ResourceVersion) return false;
        }
        var result = await api.ApplyAsync(desired, ct);
        _applied[key] = (hash, ResourceVersion(result));
        metrics.Writes.WithLabels(desired.Kind.Kind, "apply").Inc();
        return true;
    }

    /// <summary>Deletes the object if it exists; true when a write was made.</summary>
    public async Task<bool> EnsureAbsentAsync(ObjectKind kind, string ns, string name, CancellationToken ct)
    {
        _applied.TryRemove(new DesiredObject(kind, ns, name, []).ToString(), out _);
        if (await api.GetAsync(kind, ns, name, ct) is null) return false;
        await api.DeleteAsync(kind, ns, name, ct);
        metrics.Writes.WithLabels(kind.Kind, "delete").Inc();
        return true;
    }

    private static string? ResourceVersion(System.Text.Json.Nodes.JsonObject obj) =>
        obj["metadata"]?["resourceVersion"]?.GetValue<string>();
}
