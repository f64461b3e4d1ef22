using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Status;

/// <summary>
/// Kubernetes Events when an alert starts firing or resolves. Emitted by the reconciler that writes the status, from
/// the live status to the one it wrote: level-triggered, so an alert whose state the aggregator reported before the
/// operator saw the alert still gets its event, and restarts and failovers do not repeat one.
/// </summary>
public sealed class AlertEvents(ApiClient client, TimeProvider time, ILogger<AlertEvents> logger)
{
    // The state each alert (by uid) last had an event for: a reconcile that runs before the informer saw the
    // previous status write must not announce the same transition twice.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _announced = new();

    public async Task TransitionAsync(UsageAlert alert, string? was, AggregatorAlert? state, CancellationToken ct)
    {
        if (state is null) return;
        var uid = alert.Metadata.Uid ?? "";
        if (_announced.TryGetValue(uid, out var announced) && announced == state.State) return;
        _announced[uid] = state.State;
        var (reason, type, message) = (was, state.State) switch
        {
            (not "Firing", "Firing") => ("Firing", "Warning",
                $"{alert.Spec.Metric} is {state.CurrentValue} over {alert.Spec.Window}, above {alert.Spec.Threshold}" +
                (state.FiringGroups is { Count: > 0 } g ? $" for {string.Join(", ", g)}" : "")),
            ("Firing", "Ok") => ("Resolved", "Normal", $"{alert.Spec.Metric} is back to {state.CurrentValue}, at or below {alert.Spec.Threshold}"),
            _ => (null, null, null),
        };
        if (reason is null) return;
        var now = time.GetUtcNow().UtcDateTime;
        var ns = alert.Metadata.NamespaceProperty!;
        var evt = new Corev1Event
        {
            ApiVersion = ObjectKind.Event.ApiVersion,
            Kind = ObjectKind.Event.Kind,
            Metadata = new V1ObjectMeta { Name = $"{alert.Metadata.Name}.{now.Ticks:x}", NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = CostRate.GroupVersion, Kind = UsageAlert.KindName, Name = alert.Metadata.Name,
                NamespaceProperty = ns, Uid = alert.Metadata.Uid, ResourceVersion = alert.Metadata.ResourceVersion,
            },
            Reason = reason,
            Message = message,
            Type = type,
            Count = 1,
            FirstTimestamp = now,
            LastTimestamp = now,
            Source = new V1EventSource { Component = OperatorOptions.FieldManager },
            ReportingComponent = OperatorOptions.FieldManager,
        };
        try
        {
            using var _ = await client.SendAsync(HttpMethod.Post, ObjectKind.Event.CollectionIn(ns), ApiClient.ModelBody(evt),
                HttpCompletionOption.ResponseContentRead, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // An event is a courtesy; its failure must not stop status from being written.
            logger.LogWarning("Event {Reason} for UsageAlert {Ns}/{Name} not recorded: {Error}", reason, ns, alert.Metadata.Name, ApiErrors.Describe(e));
        }
    }
}
