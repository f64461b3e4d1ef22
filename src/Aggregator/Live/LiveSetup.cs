using AgentMeter.Aggregator.Aggregation;

namespace AgentMeter.Aggregator.Live;

public static class LiveSetup
{
    /// <summary>The live rows of the days not aggregated yet; refreshed in the background when <paramref name="refresh"/> (the long-running verbs).</summary>
    public static WebApplicationBuilder AddLive(this WebApplicationBuilder builder, bool refresh)
    {
        var options = builder.Configuration.GetSection("Live").Get<LiveOptions>() ?? new LiveOptions();
        if (options.RefreshInterval <= TimeSpan.Zero || options.RefreshInterval > LiveOptions.MaxAge)
            throw new InvalidOperationException(
                $"Live__RefreshInterval must be a positive time span of at most a minute, such as 00:00:05; got {options.RefreshInterval}");
        if (options.MaxShare is not (>= 0.05 and <= 1))
            throw new InvalidOperationException(
                $"Live__MaxShare must be from 0.05 to 1 (the share of the time live refreshes may take; 1: back to back); got {options.MaxShare}");
        if (options.Days is < 1 or > 7)
            throw new InvalidOperationException($"Live__Days must be from 1 (today only) to 7; got {options.Days}");
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<IDailyRollup, LiveRows>();
        builder.Services.AddSingleton<LiveRollup>();
        if (refresh && options.Enabled) builder.Services.AddHostedService<LiveRefreshService>();
        return builder;
    }
}
