using AgentMeter.Aggregator.Database;
using Npgsql;

namespace AgentMeter.Aggregator.Import;

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
