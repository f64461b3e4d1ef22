using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Entities.Validation;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Status;
using AgentMeter.Operator.Tenancy;
using k8s.Models;

namespace AgentMeter.Operator.Reconcile;

/// <summary>
/// One UsageAlert: its PrometheusRule (applied, or removed when there must be none) and its whole status —
/// conditions from this reconcile plus the state the aggregator last reported.
/// </summary>
public sealed class UsageAlertReconciler(
    ObjectApi api, Renderer renderer, Applier applier, StatusWriter statusWriter, DiscoveryCache discovery,
    Informer<UsageAlert> alerts, UsageAlertTenancy tenancy, ResourceRules rules, StatusBook book, AlertEvents events,
    TimeProvider time, ILogger<UsageAlertReconciler> logger)
{
    public async Task ReconcileAsync(string key, CancellationToken ct)
    {
        // Gone or going: the garbage collector removes the owned PrometheusRule.
        if (alerts.Get(key) is not { Metadata.DeletionTimestamp: null } alert) return;
        var generation = alert.Metadata.Generation;
        var conditions = new List<V1Condition>();
        var served = await discovery.IsMonitoringServedAsync(ct);
        var tenant = tenancy.Decide(alert);

        var problems = ResourceDocuments.Validate(alert, rules);
        if (problems.Count > 0)
        {
            var message = string.Join("; ", problems);
            logger.LogWarning("UsageAlert {Key} is invalid, fix: {Problems}", key, message);
            conditions.Add(Conditions.Make(Conditions.Ready, false, "InvalidSpec", message, generation));
            conditions.Add(await NoRuleAsync(alert, served, "InvalidSpec", "no rule for an invalid spec", ct));
        }
        else if (!tenant.HandedOff)
        {
            logger.LogWarning("UsageAlert {Key} is not handed to the aggregator: {Reason}", key, tenant.Message);
            conditions.Add(Conditions.Make(Conditions.Ready, false, TenantRule.ReasonNotAllowed, tenant.Message, generation));
            conditions.Add(await NoRuleAsync(alert, served, TenantRule.ReasonNotAllowed, "no rule for an alert that is not handed to the aggregator", ct));
        }
        else
        {
            conditions.Add(await SecretReadiness.ReadyAsync(api, alert, tenant, ct));
            conditions.Add(tenant.Verdict == TenantVerdict.Confined
                // Prometheus' metrics carry no tenant label: a rule would count every tenant's traffic.
                ? await NoRuleAsync(alert, served, "TenantConfined",
                    $"the alert is {tenant.Message} and Prometheus metrics have no tenant label; the aggregator evaluates this alert", ct)
                : await ReconcileRuleAsync(alert, served, ct));
        }
        conditions.Add(SyncCondition(key, tenant, generation));

        // An alert that is not handed off shows no aggregator state: a stale one could belong to another tenant.
        var state = tenant.HandedOff ? book.Alert(key) : null;
        var status = new UsageAlertStatus
        {
            State = state?.State ?? "Unknown",
            CurrentValue = state?.CurrentValue,
            LastEvaluationTime = state?.LastEvaluationTime,
            LastFiredTime = state?.LastFiredTime,
            FiringGroups = state?.FiringGroups is { Count: > 0 } groups ? groups : null,
            ObservedGeneration = generation,
            Conditions = Conditions.Merge(alert.Status?.Conditions, conditions, time.GetUtcNow().UtcDateTime),
        };
        if (await statusWriter.WriteAsync(alert, alert.Status, status, UsageAlert.Plural, ct))
            await events.TransitionAsync(alert, alert.Status?.State, state, ct);
    }

    private async Task<V1Condition> ReconcileRuleAsync(UsageAlert alert, bool served, CancellationToken ct)
    {
        var generation = alert.Metadata.Generation;
        if (!served)
            return Conditions.Make(Conditions.RuleGenerated, false, "PrometheusOperatorMissing",
                "monitoring.coreos.com/v1 is not served; install the Prometheus Operator CRDs for a PrometheusRule", generation);
        var (rule, expression) = renderer.Rule(alert);
        if (rule is null) return await NoRuleAsync(alert, served, expression.Reason!, expression.Message!, ct);
        if (await applier.EnsureAsync(rule, ct) == ApplyOutcome.NotOwned)
            return Conditions.Make(Conditions.RuleGenerated, false, "RuleNotOwned",
                $"PrometheusRule {rule.Namespace}/{rule.Name} exists and is not owned by this UsageAlert; it is left as it is: " +
                "delete or rename it to let the operator write the rule", generation);
        // One message for every alert, not the rule's name and expression (both in the PrometheusRule): 10,000 cached
        // statuses would otherwise hold 10,000 distinct copies of it.
        return Conditions.Make(Conditions.RuleGenerated, true, "RuleApplied", "the alert's PrometheusRule (agentmeter-<name>) is applied", generation);
    }

    /// <summary>Removes the alert's own rule, if it has one (never a rule someone else owns), and says why there is none.</summary>
    private async Task<V1Condition> NoRuleAsync(UsageAlert alert, bool served, string reason, string message, CancellationToken ct)
    {
        if (served && !string.IsNullOrEmpty(alert.Metadata.Uid))
            await applier.EnsureAbsentAsync(ObjectKind.PrometheusRule, alert.Metadata.NamespaceProperty!, PrometheusRules.RuleName(alert), alert.Metadata.Uid, ct);
        return Conditions.Make(Conditions.RuleGenerated, false, reason, message, alert.Metadata.Generation);
    }

    private V1Condition SyncCondition(string key, TenantDecision tenant, long? generation)
    {
        if (!tenant.HandedOff)
            return Conditions.Make(Conditions.StatusSynced, false, "NotHandedOff", "the alert is not handed to the aggregator", generation);
        if (book.AggregatorError is { } error)
            return Conditions.Make(Conditions.StatusSynced, false, "AggregatorUnavailable", error, generation);
        return book.Alert(key) switch
        {
            null => Conditions.Make(Conditions.StatusSynced, false, "NotEvaluated", "the aggregator has not evaluated this alert yet", generation),
            { Error: { } evaluationError } => Conditions.Make(Conditions.StatusSynced, false, "EvaluationFailed", evaluationError, generation),
            _ => Conditions.Make(Conditions.StatusSynced, true, "Synced", "state copied from the aggregator", generation),
        };
    }
}
