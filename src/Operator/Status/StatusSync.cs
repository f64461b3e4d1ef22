using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Controller;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Tenancy;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Status;

/// <summary>
/// Reads alert and retention state from the aggregator on a short period, records it in the <see cref="StatusBook"/>
/// and queues the resources whose state changed (their reconcilers write the status). Emits Kubernetes Events
/// when an alert starts firing or resolves. An aggregator that is down is a completed cycle (every alert's
/// <c>StatusSynced</c> says so); a Kubernetes API error is a failed one, thrown to the loop that retries it.
/// </summary>
public sealed class StatusSync(
    AggregatorClient aggregator, StatusBook book, IKubernetes client, Informer<UsageAlert> alerts,
    UsageAlertTenancy tenancy, TimeProvider time, ILogger<StatusSync> logger)
{
    public async Task SyncOnceAsync(Action<string> enqueue, CancellationToken ct)
    {
        try
        {
            var response = await aggregator.GetAlertsAsync(ct);
            // After an outage (or at start) every alert's StatusSynced condition changes, not only those with new state.
            if (book.AggregatorError is not null)
                foreach (var alert in alerts.Items) enqueue(Keys.UsageAlert(Informer<UsageAlert>.KeyOf(alert)));
            foreach (var (key, _, state) in book.UpdateAlerts(response.Alerts))
            {
                // No event from state an alert may no longer see (its namespace's tenant changed).
                if (alerts.Get(key) is { } alert && tenancy.Decide(alert).HandedOff)
                {
                    await EmitTransitionAsync(alert, state, ct);
                    enqueue(Keys.UsageAlert(key));
                }
            }
            if (book.UpdateRetention(await aggregator.GetRetentionAsync(ct)))
                enqueue(Keys.RetentionPolicy(RetentionPolicy.DefaultName));
        }
        catch (AggregatorUnavailableException e)
        {
            logger.LogWarning("Reading state from the aggregator failed: {Error}", e.Message);
            Fail($"aggregator status read failed: {e.Message}", enqueue);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            Fail($"aggregator status read failed: {ApiErrors.Describe(e)} from the Kubernetes API", enqueue);
            throw;
        }
    }

    private void Fail(string error, Action<string> enqueue)
    {
        if (book.Fail(error))
            foreach (var alert in alerts.Items) enqueue(Keys.UsageAlert(Informer<UsageAlert>.KeyOf(alert)));
    }

    /// <summary>Compares with the state in the live status, so restarts and failovers do not repeat events.</summary>
    private async Task EmitTransitionAsync(UsageAlert alert, AggregatorAlert state, CancellationToken ct)
    {
        var was = alert.Status?.State;
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
            await client.CoreV1.CreateNamespacedEventAsync(evt, ns, cancellationToken: ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // An event is a courtesy; its failure must not stop status from being written.
            logger.LogWarning("Event {Reason} for UsageAlert {Ns}/{Name} not recorded: {Error}", reason, ns, alert.Metadata.Name, ApiErrors.Describe(e));
        }
    }
}
