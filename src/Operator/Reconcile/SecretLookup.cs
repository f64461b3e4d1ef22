using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Reconcile;

/// <summary>Values of opted-in Secrets, and the referenced Secrets that did not opt in (<c>namespace/name</c>).</summary>
public sealed record SecretValues(Dictionary<string, byte[]> Values, HashSet<string> NotAllowed);

/// <summary>
/// Reads the Secret keys the webhooks of UsageAlerts and Budgets reference (get only, by name: the operator never lists Secrets). Only a Secret
/// labelled <c>agentmeter.io/webhook-secret: "true"</c> is ever copied; any other is reported, and its data dropped
/// at once: an alert author cannot make the operator hand over a Secret its owner did not mean for webhooks.
/// </summary>
public static class SecretLookup
{
    public static async Task<SecretValues> ReadAsync(ObjectApi api, IEnumerable<k8s.IKubernetesObject<k8s.Models.V1ObjectMeta>> alerts, CancellationToken ct)
    {
        var result = new SecretValues([], []);
        var references = alerts.SelectMany(RenderInput.SecretReferences).ToList();
        foreach (var secret in references.Select(r => (r.Namespace, r.Ref.Name)).Distinct())
        {
            var found = await api.ReadSecretAsync(secret.Namespace, secret.Name, ct);
            if (found is null) continue;
            if (!RenderInput.OptedIn(found.Metadata?.Labels))
            {
                result.NotAllowed.Add($"{secret.Namespace}/{secret.Name}");
                continue;
            }
            var data = found.Data ?? new Dictionary<string, byte[]>();
            foreach (var (ns, reference) in references.Where(r => r.Namespace == secret.Namespace && r.Ref.Name == secret.Name))
                if (data.TryGetValue(reference.Key, out var value))
                    result.Values[RenderInput.SecretValueKey(ns, reference)] = value;
        }
        return result;
    }
}
