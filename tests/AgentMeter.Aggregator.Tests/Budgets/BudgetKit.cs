using AgentMeter.Aggregator.Budgets;
using AgentMeter.Aggregator.Metrics;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Budgets;

/// <summary>A fresh migrated database, Budget YAML and an evaluator on a fake clock; <see cref="NewEvaluator"/> is a restart.</summary>
public sealed class BudgetKit : IAsyncDisposable
{
    public DatabaseFixture Db { get; } = new();
    public FakeTimeProvider Time { get; }
    private readonly TempFolder _folder = new();
    public BudgetEvaluator Evaluator { get; private set; } = null!;
    public BudgetBook Book { get; private set; } = null!;
    public NpgsqlDataSource Data => Db.DataSource;

    private BudgetKit(DateTimeOffset now) => Time = new FakeTimeProvider(now);

    public static async Task<BudgetKit> CreateAsync(string resourcesYaml, DateTimeOffset now)
    {
        var kit = new BudgetKit(now);
        await kit.Db.InitializeAsync();
        kit._folder.Write("resources.yaml", resourcesYaml);
        kit.NewEvaluator();
        return kit;
    }

    public void NewEvaluator()
    {
        var store = new ResourceStore(new ResourceOptions { Paths = [_folder.Path] }, NullLogger<ResourceStore>.Instance, Time);
        store.Reload();
        Assert.Empty(store.Current.Problems);
        Book = new BudgetBook(store);
        Evaluator = new BudgetEvaluator(Data, store, new BudgetSpend(Data), new BudgetStateStore(Data), Book,
            new BudgetMetrics(new RegistryMetrics(new MetricsOptions())), Time, NullLogger<BudgetEvaluator>.Instance);
    }

    public async Task<BudgetEvaluation> EvaluateAsync(string name = "monthly")
    {
        Assert.True(await Evaluator.EvaluateAllAsync(CancellationToken.None));
        return Book.Views.Single(v => v.Name == name).Evaluation!;
    }

    /// <summary>Spend of one day, as daily aggregation stores it.</summary>
    public Task SpendAsync(DateOnly day, decimal cost, string tenant = "tenant-a", string model = "gpt-4o", string currency = "USD") =>
        SpendAsync(Data, day, cost, tenant, model, currency);

    public static async Task SpendAsync(NpgsqlDataSource db, DateOnly day, decimal cost, string tenant = "tenant-a", string model = "gpt-4o", string currency = "USD")
    {
        await using var conn = await db.OpenConnectionAsync();
        var revision = await conn.ExecuteScalarAsync<int>("SELECT coalesce(max(revision) + 1, 0) FROM usage_stats WHERE date = @day", new { day = day.ToDateTime(TimeOnly.MinValue) });
        await conn.ExecuteAsync(
            """
            INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count, failure_count,
                                     total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens,
                                     estimated_output_tokens, estimated_cost, currency, revision)
            VALUES (@day, 'agent-a', 'search', 'github', 'user-1', @tenant, @model, 1, 1, 0, 0, 0, 0, '{}', 0, 0, @cost, @currency, @revision)
            """, new { day = day.ToDateTime(TimeOnly.MinValue), tenant, model, cost, currency, revision });
    }

    public sealed record Notification(string Name, string EventType, string GroupKey, string Kind, string Payload);

    public async Task<List<Notification>> OutboxAsync()
    {
        await using var conn = await Data.OpenConnectionAsync();
        return (await conn.QueryAsync<Notification>(
            "SELECT alert_name AS Name, event_type AS EventType, group_key AS GroupKey, resource_kind AS Kind, payload::text AS Payload FROM webhook_outbox ORDER BY id"))
            .ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await Db.DisposeAsync();
        _folder.Dispose();
    }

    public static string Budget(string amount, string extra = "", string name = "monthly", string ns = "team-a") => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: Budget
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          amount: "{amount}"
        {extra}  webhooks:
            - name: finance
              url: https://hooks.example.com/budget
        ---

        """;
}
