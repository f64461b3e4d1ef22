using System.Collections.Concurrent;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Tenancy;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Reconcile;

/// <summary>
/// What one namespace hands to the aggregator: the ConfigMaps <c>agentmeter-resources-&lt;ns&gt;</c> (its valid,
/// allowed UsageAlerts and Budgets) and Secret <c>agentmeter-webhook-secrets-&lt;ns&gt;</c> (the opted-in Secret keys
/// they reference). Objects of the namespace that are no longer wanted (a shard fewer, no Secret key left, the last
/// alert gone) are deleted: the first time a namespace is seen in a term they are listed, afterwards the reconciler
/// remembers what it applied, so a steady namespace costs no list.
/// </summary>
public sealed class HandOffReconciler(
    ObjectApi api, Renderer renderer, Applier applier, Informer<UsageAlert> usageAlerts, Informer<Budget> budgets,
    UsageAlertTenancy tenancy, BudgetTenancy budgetTenancy, ResourceRules rules, ILogger<HandOffReconciler> logger)
{
    private static readonly ObjectKind[] Kinds = [ObjectKind.ConfigMap, ObjectKind.Secret];
    private readonly ConcurrentDictionary<string, HashSet<(ObjectKind Kind, string Name)>> _known = new();

    public async Task ReconcileAsync(string sourceNs, CancellationToken ct)
    {
        // Secrets are read for valid, allowed resources alone: an invalid or refused alert gets nothing copied.
        var alerts = usageAlerts.Items.Where(a => a.Metadata.NamespaceProperty == sourceNs)
            .Select(tenancy.HandOff).OfType<UsageAlert>()
            .Where(a => ResourceDocuments.Validate(a, rules).Count == 0)
            .ToList();
        var namespaceBudgets = budgets.Items.Where(b => b.Metadata.NamespaceProperty == sourceNs)
            .Select(budgetTenancy.HandOff).OfType<Budget>()
            .Where(b => ResourceDocuments.Validate(b, rules).Count == 0)
            .ToList();
        var secrets = await SecretLookup.ReadAsync(api, alerts.Concat<IKubernetesObject<V1ObjectMeta>>(namespaceBudgets), ct);
        var input = new RenderInput
        {
            UsageAlerts = alerts,
            Budgets = namespaceBudgets,
            WebhookSecretValues = secrets.Values,
            SecretsNotAllowed = secrets.NotAllowed,
            Rules = rules,
        };
        var desired = renderer.HandOff(input, sourceNs);
        foreach (var obj in desired)
            if (await applier.EnsureAsync(obj, ct) == ApplyOutcome.Applied)
                logger.LogInformation("Applied {Object}", obj);

        var wanted = desired.Select(d => (d.Kind, d.Name)).ToHashSet();
        var present = _known.TryGetValue(sourceNs, out var known) ? known : await ListAsync(sourceNs, ct);
        foreach (var (kind, name) in present.Where(p => !wanted.Contains(p)))
            if (await applier.DeleteManagedAsync(kind, renderer.Namespace, name, ct))
                logger.LogInformation("Deleted {Kind} {Namespace}/{Name}: namespace {Source} no longer hands it off", kind.Kind, renderer.Namespace, name, sourceNs);
        if (wanted.Count == 0) _known.TryRemove(sourceNs, out _);
        else _known[sourceNs] = wanted;
    }

    /// <summary>Source namespaces of every hand-off object in the operator's namespace (the stale ones among them too).</summary>
    public async Task<IReadOnlySet<string>> LiveNamespacesAsync(CancellationToken ct)
    {
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kind in Kinds)
            foreach (var item in await api.ListAsync(kind, renderer.Namespace, Selector(null), ct))
                if (item.Labels?.TryGetValue(HandOff.SourceNamespaceLabel, out var ns) == true) namespaces.Add(ns);
        return namespaces;
    }

    private async Task<HashSet<(ObjectKind, string)>> ListAsync(string sourceNs, CancellationToken ct)
    {
        var present = new HashSet<(ObjectKind, string)>();
        foreach (var kind in Kinds)
            foreach (var item in await api.ListAsync(kind, renderer.Namespace, Selector(sourceNs), ct))
                present.Add((kind, item.Name));
        return present;
    }

    /// <summary>Objects the operator made for namespace hand-off (of <paramref name="sourceNs"/>, or of any namespace).</summary>
    private static string Selector(string? sourceNs) =>
        $"{Labels.ManagedBy}={Configuration.OperatorOptions.FieldManager},{HandOff.SourceNamespaceLabel}" + (sourceNs is null ? "" : $"={sourceNs}");
}
