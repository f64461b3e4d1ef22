using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Tests.Alerts;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Webhooks;

/// <summary>
/// The real aggregator on a fresh database with resources and mounted-secret files in a temp folder,
/// fast retry settings, and alert evaluation driven by the test (the background evaluator is off).
/// </summary>
public sealed class WebhookHostKit : IAsyncDisposable
{
    public DatabaseFixture Db { get; } = new();
    private readonly TempFolder _folder = new();
    public string SecretsPath => Path.Combine(_folder.Path, "secrets");
    public Dictionary<string, string?> Settings { get; }
    public LogCapture Logs { get; } = new();

    private WebhookHostKit()
    {
        Directory.CreateDirectory(SecretsPath);
        Settings = new()
        {
            ["Alerts:EvaluatorEnabled"] = "false",
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Webhooks:SecretsPath"] = SecretsPath,
            ["Webhooks:BaseDelay"] = "00:00:00.050",
            ["Webhooks:MaxDelay"] = "00:00:00.200",
            ["Webhooks:PollInterval"] = "00:00:00.050",
            ["Webhooks:AttemptTimeout"] = "00:00:05",
        };
    }

    public static async Task<WebhookHostKit> CreateAsync(string resourcesYaml)
    {
        var kit = new WebhookHostKit();
        await kit.Db.InitializeAsync();
        kit._folder.Write("resources/resources.yaml", resourcesYaml);
        return kit;
    }

    public void Secret(string ns, string name, string key, string value) =>
        _folder.Write($"secrets/{ns}/{name}.{key}", value);

    public Task<AggregatorHost> StartAsync() =>
        AggregatorHost.StartAsync(Db.ConnectionString, Settings, ["--resources", Path.Combine(_folder.Path, "resources")], configure: b =>
        {
            b.Logging.AddProvider(Logs);
            b.Logging.SetMinimumLevel(LogLevel.Trace);
        });

    /// <summary>Calls now, then one evaluation: fires an alert with threshold below <paramref name="calls"/>.</summary>
    public async Task FireAsync(AggregatorHost host, int calls = 5)
    {
        await UsageData.CallsAsync(Db.DataSource, DateTimeOffset.UtcNow.AddSeconds(-1), calls);
        Assert.True(await host.Services.GetRequiredService<AlertEvaluator>().EvaluateAllAsync(CancellationToken.None));
    }

    /// <summary>Events leave the window (deleted), then one evaluation: resolves.</summary>
    public async Task ResolveAsync(AggregatorHost host)
    {
        await using (var conn = await Db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events");
        Assert.True(await host.Services.GetRequiredService<AlertEvaluator>().EvaluateAllAsync(CancellationToken.None));
    }

    public sealed record OutboxRow(string EventType, string Status, int Attempts, string? LastError, string IdempotencyKey);

    public async Task<List<OutboxRow>> OutboxAsync()
    {
        await using var conn = await Db.DataSource.OpenConnectionAsync();
        return (await conn.QueryAsync<OutboxRow>(
            "SELECT event_type AS EventType, status AS Status, attempts AS Attempts, last_error AS LastError, idempotency_key AS IdempotencyKey FROM webhook_outbox ORDER BY id"))
            .ToList();
    }

    /// <summary>Waits until no notification is pending any more.</summary>
    public async Task<List<OutboxRow>> SettledAsync(int expected = 1)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var rows = await OutboxAsync();
            if (rows.Count >= expected && rows.All(r => r.Status != "pending")) return rows;
            if (DateTime.UtcNow > until) throw new TimeoutException($"outbox not settled: {string.Join(", ", rows)}");
            await Task.Delay(50);
        }
    }

    public async Task<DateTimeOffset> NextAttemptAsync()
    {
        await using var conn = await Db.DataSource.OpenConnectionAsync();
        return new DateTimeOffset(await conn.QuerySingleAsync<DateTime>("SELECT next_attempt_at FROM webhook_outbox"), TimeSpan.Zero);
    }

    public async Task<List<(bool Succeeded, string? TenantId)>> AttemptsAsync()
    {
        await using var conn = await Db.DataSource.OpenConnectionAsync();
        return (await conn.QueryAsync<(bool, string?)>("SELECT succeeded, tenant_id FROM webhook_attempts ORDER BY id")).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await Db.DisposeAsync();
        _folder.Dispose();
    }

    /// <summary>A callCount alert (threshold 3, window 1h) in namespace team-a with the given webhooks YAML (list items).</summary>
    public static string Alert(string webhooks, string name = "calls", string extra = "") => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: {name}
          namespace: team-a
        spec:
          metric: callCount
          threshold: "3"
          window: 1h
          severity: critical
        {extra}  filter:
            tenantId: tenant-a
          webhooks:
        {webhooks}
        ---

        """;
}
