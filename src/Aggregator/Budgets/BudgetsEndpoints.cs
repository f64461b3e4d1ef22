using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Webhooks;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Budgets;

public static class BudgetsEndpoints
{
    /// <summary>
    /// <c>GET /api/v1/budgets</c>: every budget in force with its last evaluation (a tenant token: the budgets whose
    /// filter.tenantId is its tenant). <c>GET /api/v1/budgets/check</c>: may a call with these attributes go ahead?
    /// Both answer from memory (<see cref="BudgetBook"/>).
    /// </summary>
    public static void MapBudgets(this WebApplication app)
    {
        var book = app.Services.GetRequiredService<BudgetBook>();
        app.MapGet("/api/v1/budgets", (HttpContext http) =>
        {
            var tenant = http.User.Tenant();
            return Results.Ok(new { budgets = book.Views.Where(v => tenant is null || v.Filter.TenantId == tenant).Select(Describe) });
        }).RequireAuthorization(Policies.Read);

        var time = app.Services.GetRequiredService<TimeProvider>();
        app.MapGet("/api/v1/budgets/check", (HttpContext http) =>
        {
            var q = http.Request.Query;
            string? Param(string name) => q[name] is { Count: > 0 } v && v[0] is { Length: > 0 } s ? s : null;
            var scope = http.User.Scope(Param("tenant"));
            if (scope.Forbidden)
                return Results.Json(new ParameterError($"tenant: this token may check tenant \"{http.User.Tenant()}\" only", "tenant"),
                    statusCode: StatusCodes.Status403Forbidden);
            var call = new AlertFilter
            {
                TenantId = scope.TenantId, AgentId = Param("agent"), UserId = Param("user"), Model = Param("model"),
                ServerLabel = Param("server"), ToolName = Param("tool"),
            };
            return Results.Ok(BudgetCheck.Decide(book.Candidates(call.TenantId), call, http.User.Tenant(), time.GetUtcNow()));
        }).RequireAuthorization(Policies.Read);
    }

    private static object Describe(BudgetView v)
    {
        var e = v.Evaluation;
        var s = v.Resource.Spec;
        return new
        {
            @namespace = v.Namespace,
            name = v.Name,
            amount = s.Amount?.Text,
            currency = s.Currency,
            period = s.Period,
            timeZone = s.TimeZone,
            filter = s.Filter,
            thresholds = s.Thresholds,
            forecast = s.Forecast,
            spent = BudgetEvaluation.Format(e?.Spent),
            remaining = BudgetEvaluation.Format(e?.Remaining),
            percentUsed = BudgetEvaluation.Format(e?.PercentUsed),
            projected = BudgetEvaluation.Format(e?.Projected),
            projectedExhaustion = e?.ProjectedExhaustion?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) ?? "",
            forecastMethod = e?.ForecastMethod,
            state = e?.State,
            periodStart = e?.Error is null || e.Spent is not null ? e?.PeriodStart : null,
            periodEnd = e?.Error is null || e.Spent is not null ? e?.PeriodEnd : null,
            lastNotifiedThreshold = e?.LastNotifiedThreshold,
            lastEvaluationTime = e?.EvaluatedAt,
            error = e?.Error,
        };
    }
}
