using Npgsql;

namespace AgentMeter.Aggregator.Database;

public static class DatabaseSetup
{
    public const string ConnectionStringName = "Postgres";

    /// <summary>
    /// The configured connection string, or a private cluster started from the machine's binaries
    /// (returned so the caller stops it on exit).
    /// </summary>
    public static async Task<PostgresLauncher?> EnsureConnectionStringAsync(IConfigurationManager config, CancellationToken ct = default)
    {
        if (!string.IsNullOrEmpty(config.GetConnectionString(ConnectionStringName))) return null;
        var dataDir = config["Database:DataDirectory"] ?? PostgresLauncher.DefaultDataDirectory();
        var launcher = await PostgresLauncher.StartAsync(dataDir, ct);
        config[$"ConnectionStrings:{ConnectionStringName}"] = await launcher.EnsureDatabaseAsync("agentmeter", ct);
        return launcher;
    }

    public static WebApplicationBuilder AddDatabase(this WebApplicationBuilder builder)
    {
        var cs = builder.Configuration.GetConnectionString(ConnectionStringName)
                 ?? throw new InvalidOperationException("ConnectionStrings__Postgres is not set");
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(cs));
        builder.Services.AddSingleton<Migrator>();
        builder.Services.AddSingleton<MigrationState>();
        return builder;
    }

    /// <summary>Applies migrations before anything else touches the database.</summary>
    public static async Task MigrateAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        await services.GetRequiredService<Migrator>().MigrateAsync(ct);
        services.GetRequiredService<MigrationState>().MarkCompleted();
    }
}
