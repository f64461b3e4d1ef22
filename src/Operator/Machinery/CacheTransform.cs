using AgentMeter.Entities.Resources;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Machinery;

/// <summary>
/// What an informer keeps of a UsageAlert or Budget (client-go's SetTransform): every field the reconcilers read stays
/// as it came (the whole status among them: the no-write comparison, transition times and the event's previous state
/// read it), but the strings many objects repeat become one shared copy (<see cref="StringPool"/>), and annotations,
/// which nothing reads, are dropped (kubectl apply's last-applied-configuration is a second copy of the object).
/// </summary>
public static class CacheTransform
{
    public static void Compact(UsageAlert alert, StringPool pool)
    {
        Metadata(alert, pool);
        var spec = alert.Spec;
        spec.Metric = pool.Intern(spec.Metric);
        spec.Window = pool.Intern(spec.Window);
        spec.GroupBy = pool.Intern(spec.GroupBy);
        spec.Severity = pool.Intern(spec.Severity);
        spec.Cooldown = pool.Intern(spec.Cooldown);
        if (alert.Status is not { } status) return;
        status.State = pool.Intern(status.State);
        status.CurrentValue = pool.Intern(status.CurrentValue);
        pool.InternAll(status.FiringGroups);
        Conditions(status.Conditions, pool);
    }

    public static void Compact(Budget budget, StringPool pool)
    {
        Metadata(budget, pool);
        var spec = budget.Spec;
        spec.Currency = pool.Intern(spec.Currency);
        spec.Period = pool.Intern(spec.Period);
        spec.TimeZone = pool.Intern(spec.TimeZone);
        if (budget.Status is not { } status) return;
        status.State = pool.Intern(status.State);
        Conditions(status.Conditions, pool);
    }

    private static void Metadata(IKubernetesObject<V1ObjectMeta> item, StringPool pool)
    {
        item.ApiVersion = pool.Intern(item.ApiVersion);
        item.Kind = pool.Intern(item.Kind);
        item.Metadata.NamespaceProperty = pool.Intern(item.Metadata.NamespaceProperty);
        item.Metadata.Annotations = null;
    }

    private static void Conditions(IList<V1Condition>? conditions, StringPool pool)
    {
        foreach (var condition in conditions ?? [])
        {
            condition.Type = pool.Intern(condition.Type);
            condition.Status = pool.Intern(condition.Status);
            condition.Reason = pool.Intern(condition.Reason);
            condition.Message = pool.Intern(condition.Message);
        }
    }
}
