using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Status;
using AgentMeter.Operator.Tenancy;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Reconcile;

/// <summary>The Ready condition of a valid, handed-off resource with webhooks (UsageAlert, Budget): are its Secrets there and opted in.</summary>
public static class SecretReadiness
{
    public static async Task<V1Condition> ReadyAsync(ObjectApi api, IKubernetesObject<V1ObjectMeta> resource, TenantDecision tenant, CancellationToken ct)
    {
        var generation = resource.Metadata.Generation;
        var ns = resource.Metadata.NamespaceProperty!;
        var secrets = await SecretLookup.ReadAsync(api, [resource], ct);
        var set = new RenderInput { WebhookSecretValues = secrets.Values, SecretsNotAllowed = secrets.NotAllowed };
        var notAllowed = set.NotAllowedSecrets(resource).ToList();
        if (notAllowed.Count > 0)
            return Conditions.Make(Conditions.Ready, false, "SecretNotAllowed",
                $"Secrets in namespace {ns} that are not labelled {RenderInput.WebhookSecretLabel}=\"true\" are never copied: {string.Join(", ", notAllowed)}; " +
                "label the Secret if it is meant for webhooks", generation);
        var missing = set.MissingSecrets(resource).ToList();
        if (missing.Count > 0)
            return Conditions.Make(Conditions.Ready, false, "SecretMissing", $"Secret keys not found in namespace {ns}: {string.Join(", ", missing)}", generation);
        var scope = tenant.Verdict == TenantVerdict.Confined ? $" ({tenant.Message})" : "";
        return Conditions.Make(Conditions.Ready, true, "Valid", $"spec is valid and handed to the aggregator{scope}", generation);
    }
}
