using AgentMeter.Aggregator.Aggregation;

namespace AgentMeter.Aggregator.Analytics;

public static class AnalyticsSetup
{
    public static WebApplicationBuilder AddAnalytics(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IDailyRollup, DimensionRollup>();
        builder.Services.AddSingleton<IDailyRollup, HourlyToolRollup>();
        builder.Services.AddSingleton<AnswerCache>();
        builder.Services.AddSingleton<UsageQuery>();
        builder.Services.AddSingleton<HeatmapQuery>();
        builder.Services.AddSingleton<ErrorsQuery>();
        builder.Services.AddSingleton<HealthQuery>();
        return builder;
    }
}
