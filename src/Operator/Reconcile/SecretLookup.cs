using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Reconcile;

/// <summary>Reads the Secret keys UsageAlerts reference (get only, by name: the operator never lists Secrets).</summary>
public static class SecretLookup
{
    public static async Task<Dictionary<string, byte[]>> ReadAsync(ObjectApi api, IEnumerable<UsageAlert> alerts, CancellationToken ct)
    {
        var values = new Dictionary<string, byte[]>();
        var references = alerts.SelectMany(ResourceSet.SecretReferences).ToList();
        foreach (var secret in references.Select(r => (r.Namespace, r.Ref.Name)).Distinct())
        {
            var data = await api.ReadSecretDataAsync(secret.Namespace, secret.Name, ct);
            if (data is null) continue;
            foreach (var (ns, reference) in references.Where(r => r.Namespace == secret.Namespace && r.Ref.Name == secret.Name))
                if (data.TryGetValue(reference.Key, out var value))
                    values[ResourceSet.SecretValueKey(ns, reference)] = value;
        }
        return values;
    }
}
