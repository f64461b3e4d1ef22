using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Controller;
using AgentMeter.Operator.Health;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using k8s;
using Prometheus;

namespace AgentMeter.Operator.Commands;

/// <summary><c>agentmeter-operator run</c>: reconciles with leader election and serves /healthz, /readyz, /metrics.</summary>
public static class RunCommand
{
    /// <summary>Builds the host; tests pass a client of their own (the fake API server) through <paramref name="customize"/>.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? customize = null)
    {
        // The slim builder leaves out IIS, hosting startups and HTTPS setup the operator never uses (docs/benchmarks.md).
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(20));
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddSingleton(_ => configuration.GetSection("Operator").Get<OperatorOptions>() ?? new OperatorOptions());
        services.AddSingleton(_ => configuration.GetSection("Aggregator").Get<AggregatorOptions>() ?? new AggregatorOptions());
        services.AddSingleton(_ => configuration.GetSection("Monitoring").Get<MonitoringOptions>() ?? new MonitoringOptions());
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<OperatorMetrics>();
        services.AddSingleton(sp => new LoopHealth(sp.GetRequiredService<TimeProvider>(),
            Math.Max(1, sp.GetRequiredService<OperatorOptions>().LoopStallPeriods)));
        services.AddSingleton(_ => new ApiClient(ClientConfiguration()));
        services.AddHttpClient("aggregator", c => c.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<Func<ILeaderTerm>>(sp => () => OperatorController.Create(sp));
        services.AddSingleton<LeaderHost>();
        services.AddHostedService(sp => sp.GetRequiredService<LeaderHost>());
        customize?.Invoke(builder);
        // Health and metrics listen on 8081 unless --urls / ASPNETCORE_URLS say otherwise (8080 is the aggregator's).
        if (string.IsNullOrEmpty(configuration["urls"]) && string.IsNullOrEmpty(configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls("http://0.0.0.0:8081");
        else if (!string.IsNullOrEmpty(configuration["urls"]))
            builder.WebHost.UseUrls(configuration["urls"]!);

        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (LeaderHost host, LoopHealth health) =>
        {
            if (!host.IsReady) return Results.Text("caches not synced", statusCode: 503);
            var stalled = health.Stalled();
            return stalled.Count == 0 ? Results.Text("ok") : Results.Text("stalled: " + string.Join("; ", stalled), statusCode: 503);
        });
        app.MapMetrics("/metrics", app.Services.GetRequiredService<OperatorMetrics>().Registry);
        return app;
    }

    /// <summary>In a pod: the service account. Elsewhere: the first file of KUBECONFIG, else ~/.kube/config.</summary>
    private static KubernetesClientConfiguration ClientConfiguration()
    {
        if (KubernetesClientConfiguration.IsInCluster()) return KubernetesClientConfiguration.InClusterConfig();
        var path = Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        if (!File.Exists(path))
            throw new InvalidOperationException($"not running in a cluster and no kubeconfig at {path}: set KUBECONFIG or run in a pod with a service account");
        return KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        await using var app = Build(args);
        await app.RunAsync();
        return 0;
    }
}
