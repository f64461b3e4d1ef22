using AgentMeter.Aggregator.Auth;

namespace AgentMeter.Aggregator.Costs;

public static class CostsEndpoints
{
    /// <summary><c>GET /api/v1/costrates</c>: price history per model and per MCP server, and the rate in force today.</summary>
    public static void MapCosts(this WebApplication app)
    {
        app.MapGet("/api/v1/costrates", (PriceHistory history, CancellationToken ct) => history.ReadAsync(ct))
            .RequireAuthorization(Policies.Read);
    }
}
