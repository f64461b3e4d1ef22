using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Status;
using k8s.Models;

namespace AgentMeter.Operator.Reconcile;

/// <summary>Status of CostRates and RetentionPolicies: validity, and for the policy in force the aggregator's last and next run.</summary>
public sealed class ResourceStatusReconciler(
    StatusWriter statusWriter, Informer<CostRate> costRates, Informer<RetentionPolicy> policies,
    StatusBook book, TimeProvider time, ILogger<ResourceStatusReconciler> logger)
{
    public async Task ReconcileCostRateAsync(string key, CancellationToken ct)
    {
        if (costRates.Get(key) is not { Metadata.DeletionTimestamp: null } rate) return;
        var ready = ReadyCondition(rate, "Valid", "rate is valid and handed to the aggregator");
        var status = new CostRateStatus
        {
            ObservedGeneration = rate.Metadata.Generation,
            Conditions = Conditions.Merge(rate.Status?.Conditions, [ready], time.GetUtcNow().UtcDateTime),
        };
        await statusWriter.WriteAsync(rate, rate.Status, status, CostRate.Plural, ct);
    }

    public async Task ReconcileRetentionPolicyAsync(string key, CancellationToken ct)
    {
        if (policies.Get(key) is not { Metadata.DeletionTimestamp: null } policy) return;
        var inForce = policy.Metadata.Name == RetentionPolicy.DefaultName;
        var ready = inForce
            ? ReadyCondition(policy, "InForce", "this policy is in force")
            : Conditions.Make(Conditions.Ready, false, "NotInForce", $"only the RetentionPolicy named {RetentionPolicy.DefaultName} applies", policy.Metadata.Generation);
        var retention = inForce ? book.Retention : null;
        var status = new RetentionPolicyStatus
        {
            LastRunTime = retention?.LastRun?.FinishedAt ?? retention?.LastRun?.StartedAt,
            NextRunTime = retention?.NextRunTime,
            LastResult = retention?.LastRun is { } run ? (run.Message is { Length: > 0 } m ? $"{run.Result}: {m}" : run.Result) : null,
            ObservedGeneration = policy.Metadata.Generation,
            Conditions = Conditions.Merge(policy.Status?.Conditions, [ready], time.GetUtcNow().UtcDateTime),
        };
        await statusWriter.WriteAsync(policy, policy.Status, status, RetentionPolicy.Plural, ct);
    }

    private V1Condition ReadyCondition(k8s.IKubernetesObject<V1ObjectMeta> resource, string reason, string message)
    {
        var problems = ResourceDocuments.Validate(resource);
        if (problems.Count == 0) return Conditions.Make(Conditions.Ready, true, reason, message, resource.Metadata.Generation);
        var text = string.Join("; ", problems);
        logger.LogWarning("{Kind} {Name} is invalid, fix: {Problems}", resource.Kind, resource.Metadata.Name, text);
        return Conditions.Make(Conditions.Ready, false, "InvalidSpec", text, resource.Metadata.Generation);
    }
}
