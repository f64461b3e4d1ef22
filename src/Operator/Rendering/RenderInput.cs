using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Rendering;

/// <summary>
/// Everything the operator renders from: the four kinds as handed to the aggregator, plus the webhook Secret values
/// the UsageAlerts reference (key <c>&lt;namespace&gt;.&lt;secret&gt;.&lt;key&gt;</c>, docs/contracts.md).
/// </summary>
public sealed class RenderInput
{
    /// <summary>The label a Secret carries (value <c>"true"</c>) to let the operator copy its keys for webhooks.</summary>
    public const string WebhookSecretLabel = HandOff.OptInLabel;

    public IReadOnlyList<CostRate> CostRates { get; init; } = [];
    public IReadOnlyList<UsageAlert> UsageAlerts { get; init; } = [];
    public IReadOnlyList<RetentionPolicy> RetentionPolicies { get; init; } = [];
    public IReadOnlyList<Budget> Budgets { get; init; } = [];
    /// <summary>Secret values found for the webhook references of <see cref="UsageAlerts"/> and <see cref="Budgets"/>; a missing entry is a missing Secret or key, or a Secret that did not opt in.</summary>
    public IReadOnlyDictionary<string, byte[]> WebhookSecretValues { get; init; } = new Dictionary<string, byte[]>();
    /// <summary>Referenced Secrets (<c>namespace/name</c>) that exist but do not carry <see cref="WebhookSecretLabel"/>: never copied.</summary>
    public IReadOnlySet<string> SecretsNotAllowed { get; init; } = new HashSet<string>();
    public ResourceRules Rules { get; init; } = ResourceRules.Default;

    public IEnumerable<IKubernetesObject<V1ObjectMeta>> All =>
        CostRates.Cast<IKubernetesObject<V1ObjectMeta>>().Concat(UsageAlerts).Concat(RetentionPolicies).Concat(Budgets);

    /// <summary>Resources whose spec passes the shared validators: only these reach the aggregator.</summary>
    public IEnumerable<IKubernetesObject<V1ObjectMeta>> Valid => All.Where(r => ResourceDocuments.Validate(r, Rules).Count == 0);

    /// <summary>The UsageAlerts and Budgets of one namespace (what its hand-off is rendered from), with the same Secret values and rules.</summary>
    public RenderInput Of(string ns) => new()
    {
        UsageAlerts = UsageAlerts.Where(a => a.Metadata.NamespaceProperty == ns).ToList(),
        Budgets = Budgets.Where(b => b.Metadata.NamespaceProperty == ns).ToList(),
        WebhookSecretValues = WebhookSecretValues,
        SecretsNotAllowed = SecretsNotAllowed,
        Rules = Rules,
    };

    public static string SecretValueKey(string ns, SecretKeyRef reference) => $"{ns}.{reference.Name}.{reference.Key}";

    /// <summary>Whether a Secret with these labels opted in to being copied for webhooks.</summary>
    public static bool OptedIn(IDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue(WebhookSecretLabel, out var value) && value == "true";

    /// <summary>Every Secret key the webhooks of a UsageAlert or Budget reference, as (namespace, reference).</summary>
    public static IEnumerable<(string Namespace, SecretKeyRef Ref)> SecretReferences(IKubernetesObject<V1ObjectMeta> resource) =>
        (resource switch { UsageAlert a => a.Spec.Webhooks, Budget b => b.Spec.Webhooks, _ => null } ?? [])
            .SelectMany(w => new[] { w.UrlSecretRef, w.SigningSecretRef, w.RoutingKeySecretRef })
            .OfType<SecretKeyRef>()
            .Select(r => (resource.Metadata.NamespaceProperty ?? "", r));

    /// <summary>Secrets <paramref name="alert"/> references that did not opt in (by name).</summary>
    public IEnumerable<string> NotAllowedSecrets(IKubernetesObject<V1ObjectMeta> alert) =>
        SecretReferences(alert).Where(r => SecretsNotAllowed.Contains($"{r.Namespace}/{r.Ref.Name}")).Select(r => r.Ref.Name).Distinct();

    /// <summary>References of <paramref name="alert"/> to an opted-in (or unknown) Secret whose value is not in <see cref="WebhookSecretValues"/>.</summary>
    public IEnumerable<string> MissingSecrets(IKubernetesObject<V1ObjectMeta> alert) =>
        SecretReferences(alert)
            .Where(r => !SecretsNotAllowed.Contains($"{r.Namespace}/{r.Ref.Name}"))
            .Where(r => !WebhookSecretValues.ContainsKey(SecretValueKey(r.Namespace, r.Ref)))
            .Select(r => $"{r.Ref.Name}/{r.Ref.Key}")
            .Distinct();
}
