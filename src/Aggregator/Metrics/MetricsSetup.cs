using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Ingest;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Prometheus;

namespace AgentMeter.Aggregator.Metrics;

public static class MetricsSetup
{
    /// <summary>Domain metrics fed by ingest, and OpenTelemetry traces of the aggregator's own requests.</summary>
    public static WebApplicationBuilder AddMetrics(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Metrics").Get<MetricsOptions>() ?? new MetricsOptions();
        if (options.MaxLabelValues < 1)
            throw new InvalidOperationException($"Metrics__MaxLabelValues must be at least 1, got {options.MaxLabelValues}");
        if (options.MaxSeries < 1)
            throw new InvalidOperationException($"Metrics__MaxSeries must be at least 1, got {options.MaxSeries}");
        builder.Services.AddSingleton(options);
        // Always present: webhook delivery counts through it even when the exposition is off.
        builder.Services.AddSingleton<RegistryMetrics>();
        builder.Services.AddSingleton<RealtimeCostEstimator>();
        if (options.Enabled)
        {
            builder.Services.AddSingleton<IIngestObserver, MetricsIngestObserver>();
            builder.Services.AddHostedService<BreakerStateWarmStart>();
        }

        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("agentmeter-aggregator"))
            .WithTracing(t =>
            {
                // Scrapes and probes every few seconds would drown the traces worth reading.
                t.AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                    !(ctx.Request.Path.StartsWithSegments("/metrics") || ctx.Request.Path.StartsWithSegments("/healthz") ||
                      ctx.Request.Path.StartsWithSegments("/readyz")));
                t.AddSource(Alerts.AlertEvaluator.ActivitySourceName);
                if (otlp) t.AddOtlpExporter();
            });
        return builder;
    }

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
