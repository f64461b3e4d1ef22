using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Alerts;

/// <summary>A fresh migrated database, resources from YAML and an evaluator on a fake clock.</summary>
public sealed class AlertKit : IAsyncDisposable
{
    public DatabaseFixture Db { get; } = new();
    public FakeTimeProvider Time { get; }
    private readonly TempFolder _folder = new();
    public AlertEvaluator Evaluator { get; private set; } = null!;
    public NpgsqlDataSource Data => Db.DataSource;
    public ResourceStore Store { get; private set; } = null!;

    private AlertKit(DateTimeOffset now) => Time = new FakeTimeProvider(now);

    public static async Task<AlertKit> CreateAsync(string resourcesYaml, DateTimeOffset now)
    {
        var kit = new AlertKit(now);
        await kit.Db.InitializeAsync();
        kit._folder.Write("resources.yaml", resourcesYaml);
        kit.NewEvaluator();
        return kit;
    }

    /// <summary>A new evaluator on the same database, as after a restart.</summary>
    public void NewEvaluator()
    {
        var store = Store = new ResourceStore(new ResourceOptions { Paths = [_folder.Path] }, NullLogger<ResourceStore>.Instance, Time);
        store.Reload();
        Assert.Empty(store.Current.Problems);
        Evaluator = new AlertEvaluator(Data, store, new AlertWindowQueries(Data), new AlertStateStore(Data), Time, NullLogger<AlertEvaluator>.Instance);
    }

    /// <summary>Replaces the resources file and reloads it, as the store's poll would.</summary>
    public void Rewrite(string resourcesYaml)
    {
        _folder.Write("resources.yaml", resourcesYaml);
        Assert.True(Store.Reload());
    }

    public async Task EvaluateAsync() => Assert.True(await Evaluator.EvaluateAllAsync(CancellationToken.None));

    public sealed record Notification(string AlertName, string GroupKey, string EventType, string IdempotencyKey, string WebhookName, string? TenantId);

    public async Task<List<Notification>> OutboxAsync()
    {
        await using var conn = await Data.OpenConnectionAsync();
        return (await conn.QueryAsync<Notification>(
            """
            SELECT alert_name AS AlertName, group_key AS GroupKey, event_type AS EventType, idempotency_key AS IdempotencyKey,
                   webhook_name AS WebhookName, tenant_id AS TenantId
            FROM webhook_outbox ORDER BY id
            """)).ToList();
    }

    /// <summary>The alert's stored group states with their current values, as GET /api/v1/alerts shows them.</summary>
    public async Task<Dictionary<string, (string State, decimal? Value)>> StatesAsync(string alert)
    {
        var store = new AlertStateStore(Data);
        var evaluation = (await store.LoadEvaluationsAsync(CancellationToken.None)).Values.SingleOrDefault(e => e.Name == alert);
        return (await store.LoadAllAsync(CancellationToken.None)).Where(g => g.Key.Name == alert).SelectMany(g => g)
            .ToDictionary(g => g.Group, g => (g.State, evaluation is null ? g.Value : evaluation.ValueOf(g)));
    }

    public async Task<(decimal? Value, string? Error)> EvaluationAsync(string alert)
    {
        await using var conn = await Data.OpenConnectionAsync();
        return await conn.QuerySingleAsync<(decimal?, string?)>("SELECT value, error FROM alert_evaluations WHERE name = @alert", new { alert });
    }

    public async ValueTask DisposeAsync()
    {
        await Db.DisposeAsync();
        _folder.Dispose();
    }

    /// <summary>A UsageAlert document in namespace team-a with one generic webhook.</summary>
    public static string Alert(string name, string metric, string threshold, string window, string? groupBy = null, string? cooldown = null,
        string filter = "", string webhookUrl = "https://hooks.example.com/x") => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: {name}
          namespace: team-a
        spec:
          metric: {metric}
          threshold: "{threshold}"
          window: {window}
        {(groupBy is null ? "" : $"  groupBy: {groupBy}\n")}{(cooldown is null ? "" : $"  cooldown: {cooldown}\n")}{filter}  webhooks:
            - name: oncall
              url: {webhookUrl}
        ---

        """;
}
