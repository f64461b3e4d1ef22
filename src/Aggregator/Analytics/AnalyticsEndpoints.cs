using AgentMeter.Aggregator.Auth;

namespace AgentMeter.Aggregator.Analytics;

public static class AnalyticsEndpoints
{
    /// <summary><c>/api/v1/analytics/*</c>: admin token (every tenant) or a tenant token (its own tenant only).</summary>
    public static void MapAnalytics(this WebApplication app)
    {
        var api = app.MapGroup("/api/v1/analytics").RequireAuthorization(Policies.Read);
        api.MapGet("/usage", (HttpContext http, UsageQuery q, AnswerCache cache) =>
            Answer(http, AnalyticsParameters.Grouped, Cached(http, cache, "usage", async (r, ct) => await q.RunAsync(r, ct))));
        api.MapGet("/costs", (HttpContext http, CostQuery q, AnswerCache cache) =>
            Answer(http, AnalyticsParameters.Grouped, Cached(http, cache, "costs", async (r, ct) => await q.RunAsync(r, ct))));
        api.MapGet("/heatmap", (HttpContext http, HeatmapQuery q, AnswerCache cache) =>
            Answer(http, AnalyticsParameters.Common, Cached(http, cache, "heatmap", async (r, ct) => await q.RunAsync(r, ct))));
        // errors and health also read live tables (webhook attempts, breaker reports): always computed.
        api.MapGet("/errors", (HttpContext http, ErrorsQuery q) =>
            Answer(http, AnalyticsParameters.Common, async (r, ct) => Results.Ok(await q.RunAsync(r, ct))));
        api.MapGet("/health", (HttpContext http, HealthQuery q) =>
            Answer(http, AnalyticsParameters.Common, async (r, ct) => Results.Ok(await q.RunAsync(r, ct))));
    }

    private static Func<AnalyticsRequest, CancellationToken, Task<IResult>> Cached(
        HttpContext http, AnswerCache cache, string endpoint, Func<AnalyticsRequest, CancellationToken, Task<object>> compute)
    {
        var fresh = http.Request.Headers.CacheControl.ToString().Contains("no-cache", StringComparison.OrdinalIgnoreCase);
        return (r, ct) => cache.GetOrComputeAsync(endpoint, r, fresh, compute, ct);
    }

    /// <summary>Parses the parameters, confines the tenant to the caller's token, then runs the query.</summary>
    private static async Task<IResult> Answer(
        HttpContext http, IReadOnlyList<string> accepted, Func<AnalyticsRequest, CancellationToken, Task<IResult>> run)
    {
        var today = DateOnly.FromDateTime(http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime);
        var (request, error) = AnalyticsParameters.Parse(http.Request.Query, accepted, today);
        if (error is not null) return Results.BadRequest(error);
        var (tenant, forbidden) = ScopeTenant(http, request!.Tenant);
        if (forbidden is not null) return forbidden;
        return await run(request with { Tenant = tenant }, http.RequestAborted);
    }

    /// <summary>
    /// Confines the asked tenant to the caller's token: the tenant to filter on (null: every tenant,
    /// for the admin only), or a 403 naming the parameter when a tenant token asks for another tenant.
    /// </summary>
    public static (string? Tenant, IResult? Forbidden) ScopeTenant(HttpContext http, string? requested)
    {
        var scope = http.User.Scope(requested);
        return scope.Forbidden
            ? (null, Results.Json(new ParameterError($"tenant: this token may read tenant \"{http.User.Tenant()}\" only", "tenant"),
                statusCode: StatusCodes.Status403Forbidden))
            : (scope.TenantId, null);
    }
}
