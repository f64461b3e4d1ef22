namespace AgentMeter.Aggregator.Ingest;

public static class IngestSetup
{
    public static WebApplicationBuilder AddIngest(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Ingest").Get<IngestOptions>() ?? new IngestOptions();
        if (options.Writers < 1)
            throw new InvalidOperationException($"Ingest__Writers must be at least 1, got {options.Writers}");
        if (options.MaxDaysPerBatch < 1)
            throw new InvalidOperationException($"Ingest__MaxDaysPerBatch must be at least 1, got {options.MaxDaysPerBatch}");
        if (options.MaxEventAge <= TimeSpan.Zero)
            throw new InvalidOperationException($"Ingest__MaxEventAge must be longer than 0, got {options.MaxEventAge}");
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<EventWriter>();
        builder.Services.AddSingleton<DayPartitions>();
        builder.Services.AddHostedService(s => s.GetRequiredService<DayPartitions>());
        builder.Services.AddSingleton<IngestService>();
        builder.Services.AddSingleton<IngestMemoryBudget>();
        return builder;
    }
}
