using k8s.Models;

namespace AgentMeter.Operator.Status;

/// <summary>Standard conditions (metav1.Condition) with observedGeneration; a transition time only moves when the status does.</summary>
public static class Conditions
{
    public const string Ready = "Ready";
    public const string RuleGenerated = "RuleGenerated";
    public const string StatusSynced = "StatusSynced";

    public static V1Condition Make(string type, bool status, string reason, string message, long? generation) => new()
    {
        Type = type,
        Status = status ? "True" : "False",
        Reason = reason,
        Message = message,
        ObservedGeneration = generation,
    };

    /// <summary>The wanted conditions, each keeping the live lastTransitionTime when its status is unchanged.</summary>
    public static List<V1Condition> Merge(IList<V1Condition>? live, IEnumerable<V1Condition> wanted, DateTime now) =>
        wanted.Select(c =>
        {
            var previous = live?.FirstOrDefault(l => l.Type == c.Type);
            c.LastTransitionTime = previous is not null && previous.Status == c.Status ? previous.LastTransitionTime : Truncate(now);
            return c;
        }).ToList();

    /// <summary>Kubernetes stores times to the second; matching that keeps comparisons with the live object exact.</summary>
    public static DateTime Truncate(DateTime time) => new(time.Ticks - time.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
}
