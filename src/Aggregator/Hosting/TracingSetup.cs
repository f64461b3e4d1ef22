using AgentMeter.Aggregator.Alerts;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AgentMeter.Aggregator.Hosting;

public static class TracingSetup
{
    /// <summary>OpenTelemetry traces of the aggregator's own requests and alert evaluations, exported when OTEL_EXPORTER_OTLP_ENDPOINT is set.</summary>
    public static WebApplicationBuilder AddTracing(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("agentmeter-aggregator"))
            .WithTracing(t =>
            {
                // Scrapes and probes every few seconds would drown the traces worth reading.
                t.AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                    !(ctx.Request.Path.StartsWithSegments("/metrics") || ctx.Request.Path.StartsWithSegments("/healthz") ||
                      ctx.Request.Path.StartsWithSegments("/readyz")));
                t.AddSource(AlertEvaluator.ActivitySourceName);
                if (otlp) t.AddOtlpExporter();
            });
        return builder;
    }
}
