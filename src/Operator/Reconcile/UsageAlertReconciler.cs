using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Controller;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Status;
using k8s.Models;

namespace AgentMeter.Operator.Reconcile;

/// <summary>
/// One UsageAlert: its PrometheusRule (applied, or removed when there must be none) and its whole status —
/// conditions from this reconcile plus the state the aggregator last reported.
/// </summary>
public sealed class UsageAlertReconciler(
    ObjectApi api, Renderer renderer, Applier applier, StatusWriter statusWriter, DiscoveryCache discovery,
    Informer<UsageAlert> alerts, StatusBook book, TimeProvider time, ILogger<UsageAlertReconciler> logger)
{
    public async Task ReconcileAsync(string key, CancellationToken ct)
    {
        // Gone or going: the garbage collector removes the owned PrometheusRule.
        if (alerts.Get(key) is not { Metadata.DeletionTimestamp: null } alert) return;
        var generation = alert.Metadata.Generation;
        var ns = alert.Metadata.NamespaceProperty!;
        var ruleName = PrometheusRules.RuleName(alert);
        var conditions = new List<V1Condition>();
        var served = await discovery.IsMonitoringServedAsync(ct);

        var problems = ResourceDocuments.Validate(alert);
        if (problems.Count > 0)
        {
            var message = string.Join("; ", problems);
            logger.LogWarning("UsageAlert {Key} is invalid, fix: {Problems}", key, message);
            conditions.Add(Conditions.Make(Conditions.Ready, false, "InvalidSpec", message, generation));
            conditions.Add(Conditions.Make(Conditions.RuleGenerated, false, "InvalidSpec", "no rule for an invalid spec", generation));
            if (served) await applier.EnsureAbsentAsync(ObjectKind.PrometheusRule, ns, ruleName, ct);
        }
        else
        {
            var secrets = await SecretLookup.ReadAsync(api, [alert], ct);
            var missing = new ResourceSet { UsageAlerts = [alert], WebhookSecretValues = secrets }.MissingSecrets(alert).ToList();
            conditions.Add(missing.Count == 0
                ? Conditions.Make(Conditions.Ready, true, "Valid", "spec is valid and handed to the aggregator", generation)
                : Conditions.Make(Conditions.Ready, false, "SecretMissing", $"Secret keys not found in namespace {ns}: {string.Join(", ", missing)}", generation));
            conditions.Add(await ReconcileRuleAsync(alert, served, ct));
        }
        conditions.Add(SyncCondition(key, generation));

        var state = book.Alert(key);
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
        await statusWriter.WriteAsync(alert, alert.Status, status, UsageAlert.Plural, ct);
    }

    private async Task<V1Condition> ReconcileRuleAsync(UsageAlert alert, bool served, CancellationToken ct)
    {
        var generation = alert.Metadata.Generation;
        if (!served)
            return Conditions.Make(Conditions.RuleGenerated, false, "PrometheusOperatorMissing",
                "monitoring.coreos.com/v1 is not served; install the Prometheus Operator CRDs for a PrometheusRule", generation);
        var (rule, expression) = renderer.Rule(alert);
        if (rule is null)
        {
            await applier.EnsureAbsentAsync(ObjectKind.PrometheusRule, alert.Metadata.NamespaceProperty!, PrometheusRules.RuleName(alert), ct);
            return Conditions.Make(Conditions.RuleGenerated, false, expression.Reason!, expression.Message!, generation);
        }
        await applier.EnsureAsync(rule, ct);
        return Conditions.Make(Conditions.RuleGenerated, true, "RuleApplied", $"PrometheusRule {rule.Name}: {expression.Expr}", generation);
    }

    private V1Condition SyncCondition(string key, long? generation)
    {
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
