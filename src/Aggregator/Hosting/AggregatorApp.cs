using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Health;
using AgentMeter.Aggregator.Resources;

namespace AgentMeter.Aggregator.Hosting;

/// <summary>Composition of the aggregator: one place that wires every capability.</summary>
public static class AggregatorApp
{
    /// <summary>Builds the app for a command line; the database must already be resolvable.</summary>
    public static WebApplication Build(CommandLine cli, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(cli.HostArgs);
        configure?.Invoke(builder);
        builder.Services.AddSingleton(cli);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddTokenAuth();
        builder.AddDatabase();
        builder.AddResources(cli);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealth();
        app.MapResources();
        return app;
    }

    /// <summary>Runs one command to completion; returns the process exit code.</summary>
    public static async Task<int> RunAsync(CommandLine cli, CancellationToken ct = default)
    {
        var config = new ConfigurationManager();
        config.AddEnvironmentVariables();
        config.AddCommandLine(cli.HostArgs);
        // Refuse an open, non-loopback listener before anything is started.
        AuthSetup.EnsureLoopbackWhenOpen(config.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions(), config);
        await using var launcher = await DatabaseSetup.EnsureConnectionStringAsync(config, ct);
        var app = Build(cli, b =>
        {
            if (launcher is not null)
                b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = config.GetConnectionString(DatabaseSetup.ConnectionStringName);
        });
        await using (app)
        {
            await app.Services.MigrateAsync(ct);
            switch (cli.Verb)
            {
                default:
                    await app.RunAsync();
                    return 0;
            }
        }
    }
}
