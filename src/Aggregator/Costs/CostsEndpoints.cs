using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Auth;

namespace AgentMeter.Aggregator.Costs;

public static class CostsEndpoints
{
    /// <summary>
    /// <c>GET /api/v1/costrates</c>: price history per model and per MCP server, and the rate in force today;
    /// <c>GET /api/v1/analytics/costs</c>: costs per group and day, with the other analytics endpoints' parameters.
    /// </summary>
    public static void MapCosts(this WebApplication app)
    {
        app.MapGet("/api/v1/costrates", (PriceHistory history, CancellationToken ct) => history.ReadAsync(ct))
            .RequireAuthorization(Policies.Read);
        AnalyticsEndpoints.Group(app).MapGet("/costs", (HttpContext http, CostQuery q, AnswerCache cache) =>
            AnalyticsEndpoints.Answer(http, AnalyticsParameters.Grouped,
                AnalyticsEndpoints.Cached(http, cache, "costs", async (r, ct) => await q.RunAsync(r, ct))));
    }
}
