using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Rendering;

/// <summary>
/// Everything the operator renders from: the three kinds as they are now, plus the webhook Secret values
/// the UsageAlerts reference (key <c>&lt;namespace&gt;.&lt;secret&gt;.&lt;key&gt;</c>, docs/contracts.md).
/// </summary>
public sealed class ResourceSet
{
    public IReadOnlyList<CostRate> CostRates { get; init; } = [];
    public IReadOnlyList<UsageAlert> UsageAlerts { get; init; } = [];
    public IReadOnlyList<RetentionPolicy> RetentionPolicies { get; init; } = [];
    /// <summary>Secret values found for the references of <see cref="UsageAlerts"/>; a missing entry is a missing Secret or key.</summary>
    public IReadOnlyDictionary<string, byte[]> WebhookSecretValues { get; init; } = new Dictionary<string, byte[]>();

    public IEnumerable<IKubernetesObject<V1ObjectMeta>> All =>
        CostRates.Cast<IKubernetesObject<V1ObjectMeta>>().Concat(UsageAlerts).Concat(RetentionPolicies);

    /// <summary>Resources whose spec passes the shared validators: only these reach the aggregator.</summary>
    public IEnumerable<IKubernetesObject<V1ObjectMeta>> Valid => All.Where(r => ResourceDocuments.Validate(r).Count == 0);

    public static string SecretValueKey(string ns, SecretKeyRef reference) => $"{ns}.{reference.Name}.{reference.Key}";

    /// <summary>Every Secret key a UsageAlert references, as (namespace, reference).</summary>
    public static IEnumerable<(string Namespace, SecretKeyRef Ref)> SecretReferences(UsageAlert alert) =>
        (alert.Spec.Webhooks ?? [])
            .SelectMany(w => new[] { w.UrlSecretRef, w.SigningSecretRef, w.RoutingKeySecretRef })
            .OfType<SecretKeyRef>()
            .Select(r => (alert.Metadata.NamespaceProperty ?? "", r));

    /// <summary>References of <paramref name="alert"/> whose value is not in <see cref="WebhookSecretValues"/>.</summary>
    public IEnumerable<string> MissingSecrets(UsageAlert alert) =>
        SecretReferences(alert)
            .Where(r => !WebhookSecretValues.ContainsKey(SecretValueKey(r.Namespace, r.Ref)))
            .Select(r => $"{r.Ref.Name}/{r.Ref.Key}")
            .Distinct();
}
