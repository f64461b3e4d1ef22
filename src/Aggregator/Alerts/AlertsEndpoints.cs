using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Webhooks;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Alerts;

public static class AlertsEndpoints
{
    /// <summary>
    /// <c>GET /api/v1/alerts</c> (docs/contracts.md): every loaded alert with its last evaluation, group
    /// states and webhook readiness. A tenant token sees only alerts whose filter.tenantId is its tenant.
    /// </summary>
    public static void MapAlerts(this WebApplication app)
    {
        app.MapGet("/api/v1/alerts", async (HttpContext http, ResourceStore resources, AlertStateStore states,
            WebhookReadinessCache readiness, CancellationToken ct) =>
        {
            var tenant = http.User.Tenant();
            var alerts = resources.Current.UsageAlerts.Where(a => tenant is null || a.Spec.Filter?.TenantId == tenant).ToList();
            var groups = await states.LoadAllAsync(ct);
            var evaluations = await states.LoadEvaluationsAsync(ct);
            var result = new List<object>(alerts.Count);
            foreach (var a in alerts)
            {
                var key = (ResourceNamespace.Of(a.Metadata), a.Metadata.Name);
                var evaluation = evaluations.GetValueOrDefault(key);
                var gs = groups[key].OrderBy(g => g.Group, StringComparer.Ordinal).ToList();
                var state = evaluation is null || evaluation.Error is not null ? "Unknown"
                    : gs.Any(g => g.State == AlertGroupState.Firing) ? AlertGroupState.Firing : AlertGroupState.Ok;
                result.Add(new
                {
                    @namespace = key.Item1,
                    name = key.Name,
                    metric = a.Spec.Metric,
                    threshold = a.Spec.Threshold?.Text,
                    window = a.Spec.Window,
                    severity = a.Spec.Severity,
                    state,
                    currentValue = evaluation?.Value is { } v ? AlertCalculator.Format(v) : null,
                    lastEvaluationTime = evaluation is null ? (DateTimeOffset?)null : new DateTimeOffset(DateTime.SpecifyKind(evaluation.EvaluatedAt, DateTimeKind.Utc)),
                    lastFiredTime = gs.Max(g => g.LastFiredAt),
                    firingGroups = gs.Where(g => g.State == AlertGroupState.Firing && g.Group.Length > 0).Select(g => g.Group).ToList(),
                    groups = gs.Select(g => new
                    {
                        group = g.Group,
                        value = evaluation?.ValueOf(g) is { } gv ? AlertCalculator.Format(gv) : null,
                        state = g.State,
                        since = g.Since,
                    }),
                    webhooks = (await readiness.GetAsync(a, ct)).Select(w => new { name = w.Name, ready = w.Ready, reason = w.Reason, message = w.Message }),
                    error = evaluation?.Error,
                });
            }
            return Results.Ok(new { alerts = result });
        }).RequireAuthorization(Policies.Read);
    }
}
