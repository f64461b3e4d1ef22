using AgentMeter.Aggregator.Ingest;

namespace AgentMeter.Aggregator.Metrics;

public static class MetricsSetup
{
    /// <summary>Domain metrics fed by ingest (and by webhook delivery).</summary>
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
        if (options.Enabled)
        {
            builder.Services.AddSingleton<IIngestObserver, MetricsIngestObserver>();
            builder.Services.AddHostedService<BreakerStateWarmStart>();
        }
        return builder;
    }
}
