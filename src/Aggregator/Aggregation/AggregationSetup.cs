using Cronos;

namespace AgentMeter.Aggregator.Aggregation;

public static class AggregationSetup
{
    /// <summary>The daily aggregation, and its schedule when <paramref name="scheduled"/> (the long-running verbs).</summary>
    public static WebApplicationBuilder AddAggregation(this WebApplicationBuilder builder, bool scheduled)
    {
        var options = builder.Configuration.GetSection("Aggregation").Get<AggregationOptions>() ?? new AggregationOptions();
        CronExpression schedule;
        try
        {
            schedule = CronExpression.Parse(options.Schedule);
        }
        catch (CronFormatException e)
        {
            throw new InvalidOperationException($"Aggregation__Schedule \"{options.Schedule}\" is not a 5-field cron expression such as \"0 0 * * *\": {e.Message}");
        }
        if (!System.Text.RegularExpressions.Regex.IsMatch(options.WorkMem, "^[1-9][0-9]*(kB|MB|GB)$"))
            throw new InvalidOperationException($"Aggregation__WorkMem \"{options.WorkMem}\" is not a PostgreSQL memory size such as 64MB or 1GB");
        if (options.Grace < TimeSpan.Zero || options.Grace >= TimeSpan.FromDays(1))
            throw new InvalidOperationException($"Aggregation__Grace must be a time span from 00:00:00 to under a day, such as 00:15:00; got {options.Grace}");
        if (options.PassInterval <= TimeSpan.Zero)
            throw new InvalidOperationException($"Aggregation__PassInterval must be a positive time span such as 00:05:00; got {options.PassInterval}");
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(schedule);
        builder.Services.AddSingleton<DailyAggregator>();
        builder.Services.AddSingleton<AggregationMetrics>();
        if (scheduled)
        {
            builder.Services.AddSingleton<AggregationScheduler>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<AggregationScheduler>());
        }
        return builder;
    }

    /// <summary>
    /// <c>aggregate --from D [--to D]</c>: aggregates those closed days now (the caller refuses open ones);
    /// days already aggregated are reported and left unchanged.
    /// </summary>
    public static async Task<int> RunAggregateCommandAsync(this IServiceProvider services, DateOnly from, DateOnly to, CancellationToken ct)
    {
        var aggregator = services.GetRequiredService<DailyAggregator>();
        foreach (var r in await aggregator.AggregateRangeAsync(from, to, ct))
            Console.WriteLine(r.Outcome == DayOutcome.Aggregated
                ? $"{r.Day:yyyy-MM-dd}: aggregated {r.Events} tool calls into {r.StatsRows} usage_stats rows"
                : $"{r.Day:yyyy-MM-dd}: already aggregated ({r.Events} tool calls, {r.StatsRows} rows), left unchanged");
        return 0;
    }
}
