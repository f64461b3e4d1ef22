using AgentMeter.Aggregator.Metrics;
using AgentMeter.Aggregator.Resources;

namespace AgentMeter.Aggregator.Costs;

public static class CostsSetup
{
    public static WebApplicationBuilder AddCosts(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CostRateSync>();
        builder.Services.AddSingleton<PriceHistory>();
        builder.Services.AddSingleton<CostQuery>();
        builder.Services.AddSingleton<ICallEstimator, RealtimeCostEstimator>();
        builder.Services.AddHostedService<CostRateSyncService>();
        return builder;
    }

    /// <summary>
    /// Brings <c>cost_rates</c> in line with the loaded CostRates; every verb runs it right after
    /// the migrations, so a day is never aggregated with the rates of a previous configuration.
    /// </summary>
    public static Task SyncCostRatesAsync(this IServiceProvider services, CancellationToken ct) =>
        services.GetRequiredService<CostRateSync>().SyncAsync(services.GetRequiredService<ResourceStore>().Current, ct);
}
