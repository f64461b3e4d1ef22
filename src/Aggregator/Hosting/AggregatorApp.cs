using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Budgets;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Dashboard;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Demo;
using AgentMeter.Aggregator.Errors;
using AgentMeter.Aggregator.Health;
using AgentMeter.Aggregator.Import;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Metrics;
using AgentMeter.Aggregator.Otlp;
using AgentMeter.Aggregator.Reports;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Webhooks;
using AgentMeter.Aggregator.Retention;
using AgentMeter.Aggregator.SelfMonitoring;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentMeter.Aggregator.Hosting;

/// <summary>Composition of the aggregator: one place that wires every capability.</summary>
public static class AggregatorApp
{
    /// <summary>Builds the app for a command line; the database must already be resolvable.</summary>
    public static WebApplication Build(CommandLine cli, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json sits next to the binary: found whatever directory the command is run from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = cli.HostArgs, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);
        builder.Services.AddSingleton(cli);
        builder.Services.TryAddSingleton(TimeProvider.System); // tests put a FakeTimeProvider first
        builder.AddErrorAnswers();
        builder.AddTokenAuth();
        builder.AddDatabase();
        builder.AddResources(cli.ResourcePaths);
        builder.AddCosts();
        builder.AddAnalytics();
        builder.AddReports();
        builder.AddRetention();
        builder.AddIngest();
        builder.AddOtlp();
        builder.AddImport();
        // The demo writes its own events, none of them late: its closed days need no grace.
        if (cli.Verb == "demo" && builder.Configuration["Aggregation:Grace"] is null) builder.Configuration["Aggregation:Grace"] = "00:00:00";
        builder.AddAggregation(scheduled: cli.Verb is "serve" or "demo");
        builder.AddMetrics();
        builder.AddTracing();
        builder.Services.AddSingleton(sp => new SelfMetrics(sp.GetRequiredService<RegistryMetrics>().Registry));
        builder.AddWebhooks();
        builder.AddAlerts();
        builder.AddBudgets();
        // JSON answers and /metrics shrink ~10× (a 90-day dashboard view: ~320 KB of JSON); the
        // dashboard's files are stored gzipped already and carry their own Content-Encoding.
        builder.Services.AddResponseCompression();

        var app = builder.Build();
        ReadGaugesAtScrape(app.Services);
        app.UseExceptionHandler();
        app.UseResponseCompression();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealth();
        app.MapResources();
        app.MapCosts();
        app.MapAnalytics();
        app.MapReports();
        app.MapRetention();
        app.MapAggregation();
        app.MapIngest();
        app.MapOtlp();
        app.MapMetricsEndpoint();
        app.MapAlerts();
        app.MapBudgets();
        app.MapDashboard();
        return app;
    }

    /// <summary>
    /// Self-monitoring gauges read when scraped, on every replica alike: the alerts loaded and the
    /// outbox backlog (the database is the truth; a failed read keeps the last values).
    /// </summary>
    private static void ReadGaugesAtScrape(IServiceProvider services)
    {
        var self = services.GetRequiredService<SelfMetrics>();
        var resources = services.GetRequiredService<ResourceStore>();
        var outbox = services.GetRequiredService<WebhookOutbox>();
        var time = services.GetRequiredService<TimeProvider>();
        var log = services.GetRequiredService<ILogger<SelfMetrics>>();
        self.BeforeScrape(async ct =>
        {
            self.AlertsLoaded(resources.Current.UsageAlerts.Count);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                var (pending, oldest) = await outbox.BacklogAsync(timeout.Token);
                self.OutboxBacklog(pending, oldest is { } o ? time.GetUtcNow() - new DateTimeOffset(DateTime.SpecifyKind(o, DateTimeKind.Utc)) : TimeSpan.Zero);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException && !ct.IsCancellationRequested)
            {
                log.LogDebug("The outbox backlog could not be read for /metrics: {Message}", e.Message);
            }
        });
    }

    /// <summary>Runs one command to completion; returns the process exit code.</summary>
    public static async Task<int> RunAsync(CommandLine cli, CancellationToken ct = default)
    {
        var config = new ConfigurationManager();
        config.AddEnvironmentVariables();
        config.AddCommandLine(cli.HostArgs);
        // Refuse an open, non-loopback listener before anything is started (the private PostgreSQL
        // included); Build checks again with the full configuration.
        AuthSetup.EnsureLoopbackWhenOpen(config.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions(), config);
        // The demo's private PostgreSQL lives in a throwaway folder: every `make demo` starts clean.
        var demoData = cli.Verb == "demo" && string.IsNullOrEmpty(config.GetConnectionString(DatabaseSetup.ConnectionStringName))
                       && string.IsNullOrEmpty(config["Database:DataDirectory"])
            ? Path.Combine(Path.GetTempPath(), $"agentmeter-demo-{Environment.ProcessId}")
            : null;
        if (demoData is not null) config["Database:DataDirectory"] = demoData;
        try
        {
            return await RunWithDatabaseAsync(cli, config, ct);
        }
        finally
        {
            if (demoData is not null && Directory.Exists(demoData)) Directory.Delete(demoData, recursive: true);
        }
    }

    private static async Task<int> RunWithDatabaseAsync(CommandLine cli, ConfigurationManager config, CancellationToken ct)
    {
        await using var launcher = await DatabaseSetup.EnsureConnectionStringAsync(config, ct);
        var app = Build(cli, b =>
        {
            if (launcher is not null)
                b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = config.GetConnectionString(DatabaseSetup.ConnectionStringName);
        });
        await using (app)
        {
            await app.Services.MigrateAsync(ct);
            // `aggregate` without --resources prices with the rates already in the database (synced by
            // serve): syncing an empty set would delete them, for the running service too.
            if (cli.Verb != "aggregate" || cli.ResourcePaths.Count > 0)
                await app.Services.SyncCostRatesAsync(ct);
            switch (cli.Verb)
            {
                case "retention":
                    return await app.Services.RunRetentionOnceAsync(ct);
                case "aggregate":
                    return await app.Services.RunAggregateCommandAsync(cli.From!.Value, ClosedDayTo(app.Services, cli), ct);
                case "demo":
                    await app.Services.SeedDemoAsync(app.Configuration, ct);
                    await app.RunAsync();
                    return 0;
                default:
                    await app.RunAsync();
                    return 0;
            }
        }
    }

    /// <summary>The last day of <c>aggregate --from D [--to D]</c>; refuses today and later (not closed yet).</summary>
    private static DateOnly ClosedDayTo(IServiceProvider services, CommandLine cli)
    {
        var today = services.GetRequiredService<DailyAggregator>().Today;
        var to = cli.To ?? cli.From!.Value;
        if (to >= today)
            throw new CommandLineException($"{to:yyyy-MM-dd} is not a closed day (today is {today:yyyy-MM-dd} UTC): " +
                                           $"aggregate up to {today.AddDays(-1):yyyy-MM-dd}; today is aggregated after midnight UTC");
        return to;
    }
}
