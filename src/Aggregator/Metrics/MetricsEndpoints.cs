using AgentMeter.Aggregator.Auth;
using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

public static class MetricsEndpoints
{
    /// <summary>
    /// <c>GET /metrics</c> in the Prometheus text format: open, or with <c>Metrics__RequireToken</c>
    /// for the metrics or the admin token only.
    /// </summary>
    public static void MapMetricsEndpoint(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<MetricsOptions>();
        if (!options.Enabled) return;
        var endpoint = app.MapMetrics("/metrics", app.Services.GetRequiredService<RegistryMetrics>().Registry);
        if (!options.RequireToken)
        {
            endpoint.AllowAnonymous();
            return;
        }
        var tokens = app.Services.GetRequiredService<AuthOptions>();
        if (app.Services.GetRequiredService<AuthMode>().Open)
            throw new InvalidOperationException(
                "Metrics__RequireToken=true, but no Auth__AdminToken, Auth__IngestToken or Auth__TenantTokens__* is set, so every caller is the admin: configure the tokens");
        if (string.IsNullOrEmpty(tokens.MetricsToken) && string.IsNullOrEmpty(tokens.AdminToken))
            throw new InvalidOperationException("Metrics__RequireToken=true needs Auth__MetricsToken (the scrape token) or Auth__AdminToken");
        endpoint.RequireAuthorization(Policies.Metrics);
    }
}
