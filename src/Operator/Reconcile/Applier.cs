using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;

namespace AgentMeter.Operator.Reconcile;

public enum ApplyOutcome
{
    Unchanged,
    Applied,
    /// <summary>An object of that name exists and another controller (or a person) owns it: left as it is.</summary>
    NotOwned,
}

/// <summary>
/// Applies desired objects only when something changed: it remembers what it applied and the resourceVersion
/// the server answered, and re-applies when either the desired body or the live object (someone else's edit,
/// a deletion) differs. A steady cluster therefore sees reads and no writes. An object that names a controller
/// owner (a PrometheusRule owned by its UsageAlert) is only written or deleted while the live object has that
/// same owner: one someone else created under the name is never taken over or removed.
/// </summary>
public sealed class Applier(ObjectApi api, OperatorMetrics metrics)
{
    // The SHA-256 of each applied body, as its 32 bytes (a third of its hex text, one per object).
    private readonly ConcurrentDictionary<string, (byte[] Hash, string? ResourceVersion)> _applied = new();

    public async Task<ApplyOutcome> EnsureAsync(DesiredObject desired, CancellationToken ct)
    {
        var key = desired.ToString();
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(desired.Body.ToJsonString()));
        var owner = ControllerUid(desired.Body);
        var known = _applied.TryGetValue(key, out var last) && last.Hash.AsSpan().SequenceEqual(hash);
        JsonObject? live = null;
        if (known || owner is not null)
        {
            live = await api.GetAsync(desired.Kind, desired.Namespace!, desired.Name, ct);
            if (owner is not null && live is not null && ControllerUid(live) != owner) return ApplyOutcome.NotOwned;
            if (known && live is not null && ResourceVersion(live) == last.ResourceVersion) return ApplyOutcome.Unchanged;
        }
        // Force takes fields over from other managers (a hand edit is reverted) — on an object that is ours. A new
        // owned object is applied without force, so one created by someone else meanwhile is a conflict, not a takeover.
        var result = await api.ApplyAsync(desired, force: owner is null || live is not null, ct);
        _applied[key] = (hash, ResourceVersion(result));
        metrics.Writes.WithLabels(desired.Kind.Kind, "apply").Inc();
        return ApplyOutcome.Applied;
    }

    /// <summary>Deletes the object if it exists and <paramref name="ownerUid"/> is its controller; true when a write was made.</summary>
    public async Task<bool> EnsureAbsentAsync(ObjectKind kind, string ns, string name, string ownerUid, CancellationToken ct)
    {
        _applied.TryRemove(new DesiredObject(kind, ns, name, []).ToString(), out _);
        var live = await api.GetAsync(kind, ns, name, ct);
        if (live is null || ControllerUid(live) != ownerUid) return false;
        await api.DeleteAsync(kind, ns, name, live["metadata"]!["uid"]!.GetValue<string>(), ct);
        metrics.Writes.WithLabels(kind.Kind, "delete").Inc();
        return true;
    }

    /// <summary>
    /// Deletes an object the operator made (it carries <c>app.kubernetes.io/managed-by: agentmeter-operator</c>), if it
    /// exists; one of that name someone else made is left alone. True when a write was made.
    /// </summary>
    public async Task<bool> DeleteManagedAsync(ObjectKind kind, string ns, string name, CancellationToken ct)
    {
        _applied.TryRemove(new DesiredObject(kind, ns, name, []).ToString(), out _);
        var live = await api.GetAsync(kind, ns, name, ct);
        if (live?["metadata"]?["labels"]?[Rendering.Labels.ManagedBy]?.GetValue<string>() != Configuration.OperatorOptions.FieldManager) return false;
        await api.DeleteAsync(kind, ns, name, live["metadata"]!["uid"]!.GetValue<string>(), ct);
        metrics.Writes.WithLabels(kind.Kind, "delete").Inc();
        return true;
    }

    private static string? ControllerUid(JsonObject obj) =>
        (obj["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(r => r["controller"]?.GetValue<bool>() == true)?["uid"]?.GetValue<string>();

    private static string? ResourceVersion(JsonObject obj) =>
        obj["metadata"]?["resourceVersion"]?.GetValue<string>();
}
