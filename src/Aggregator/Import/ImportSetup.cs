using AgentMeter.Aggregator.Database;
using Npgsql;

namespace AgentMeter.Aggregator.Import;

/// <summary>Where the audit rows are read from: the aggregator's database unless Import__ConnectionString names another.</summary>
public sealed record ImportSourceDatabase(NpgsqlDataSource DataSource);

public static class ImportSetup
{
    /// <summary>Registers the audit import when <c>Import__Source</c> is set; a malformed name stops the start with what to fix.</summary>
    public static WebApplicationBuilder AddImport(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Import").Get<ImportOptions>() ?? new ImportOptions();
        if (string.IsNullOrWhiteSpace(options.Source)) return builder;
        if (!ImportSource.TryParse(options.Source, out var source, out var problem))
            throw new InvalidOperationException(problem);
        if (options.Interval <= TimeSpan.Zero || options.BatchSize < 1)
            throw new InvalidOperationException($"Import__Interval ({options.Interval}) and Import__BatchSize ({options.BatchSize}) must be positive");
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(source);
        builder.Services.AddSingleton(sp => new ImportSourceDatabase(string.IsNullOrEmpty(options.ConnectionString)
            ? sp.GetRequiredService<NpgsqlDataSource>()
            : NpgsqlDataSource.Create(options.ConnectionString)));
        builder.Services.AddSingleton<AuditImporter>();
        builder.Services.AddHostedService<ImportService>();
        return builder;
    }
}

/// <summary>Polls the audit source every Import__Interval (default 10 s) once migrations ran.</summary>
public sealed class ImportService(
    AuditImporter importer, ImportSource source, ImportOptions options, MigrationState migrations, TimeProvider time, ILogger<ImportService> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        log.LogInformation("Importing audit rows from {Source} every {Interval}", source, options.Interval);
        using var timer = new PeriodicTimer(options.Interval, time);
        do
        {
            try
            {
                await importer.RunOnceAsync(source, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The source may appear later or the database may come back: retry next tick.
                log.LogError("Audit import from {Source} failed, retrying in {Interval}: {Message}", source, options.Interval, e.Message);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
