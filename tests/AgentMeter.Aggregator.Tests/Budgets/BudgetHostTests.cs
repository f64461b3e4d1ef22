using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentMeter.Aggregator.Budgets;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Aggregator.Tests.Webhooks;

namespace AgentMeter.Aggregator.Tests.Budgets;

/// <summary>The real aggregator: budget notifications through a real receiver across a restart, the API, the check, the gauges, tenant isolation.</summary>
public class BudgetHostTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    private static string Budget(string name, string ns, string amount, string filter, string webhooks = "") => $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: Budget
        metadata:
          name: {name}
          namespace: {ns}
        spec:
          amount: "{amount}"
          forecast: false
        {filter}{webhooks}
        ---

        """;

    [Fact]
    public async Task ThresholdsReachARealReceiverOnceEachAcrossARestart()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var kit = await WebhookHostKit.CreateAsync(Budget("monthly", "team-a", "100", "  filter: {tenantId: tenant-a}\n",
            $"  webhooks:\n    - name: finance\n      url: {receiver.Url()}\n"));
        kit.Settings["Budgets:EvaluatorEnabled"] = "false";

        var first = await kit.StartAsync();
        await BudgetKit.SpendAsync(kit.Db.DataSource, Today, 55);
        Assert.True(await first.Services.GetRequiredService<BudgetEvaluator>().EvaluateAllAsync(CancellationToken.None));
        Assert.Equal("delivered", Assert.Single(await kit.SettledAsync()).Status);
        await first.DisposeAsync();

        await using var second = await kit.StartAsync();
        var evaluator = second.Services.GetRequiredService<BudgetEvaluator>();
        Assert.True(await evaluator.EvaluateAllAsync(CancellationToken.None));
        await BudgetKit.SpendAsync(kit.Db.DataSource, Today, 50);
        Assert.True(await evaluator.EvaluateAllAsync(CancellationToken.None));
        Assert.True(await evaluator.EvaluateAllAsync(CancellationToken.None));
        var rows = await kit.SettledAsync(expected: 2);
        Assert.Equal(["threshold", "threshold"], rows.Select(r => r.EventType));
        await Task.Delay(200);
        Assert.Equal(2, receiver.Requests.Count);
        var bodies = receiver.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        Assert.Equal([50, 100], bodies.Select(b => b.GetProperty("threshold").GetInt32()));
        Assert.All(bodies, b => Assert.Equal("Budget", b.GetProperty("kind").GetString()));
        Assert.Equal(["threshold"], receiver.Requests.Select(r => r.Header("X-AgentMeter-Event")).Distinct());
        Assert.Equal(rows.Select(r => r.IdempotencyKey), receiver.Requests.Select(r => r.Header("Idempotency-Key")));

        using var listed = JsonDocument.Parse(await second.Client().GetStringAsync("/api/v1/budgets"));
        var budget = listed.RootElement.GetProperty("budgets").EnumerateArray().Single();
        Assert.Equal(("Exceeded", "105", "0", 100), (budget.GetProperty("state").GetString(), budget.GetProperty("spent").GetString(),
            budget.GetProperty("remaining").GetString(), budget.GetProperty("lastNotifiedThreshold").GetInt32()));
        var metrics = await second.Client().GetStringAsync("/metrics");
        Assert.Contains("agentmeter_budget_amount{namespace=\"team-a\",name=\"monthly\",currency=\"USD\"} 100", metrics);
        Assert.Contains("agentmeter_budget_spent{namespace=\"team-a\",name=\"monthly\",currency=\"USD\"} 105", metrics);
        Assert.Contains("agentmeter_budget_projected{namespace=\"team-a\",name=\"monthly\",currency=\"USD\"}", metrics);
    }

    [Fact]
    public async Task TenantTokensSeeTheirBudgetsAndTheCheckRefusesCallsOfAnExceededBudget()
    {
        using var folder = new TempFolder();
        folder.Write("budgets.yaml",
            Budget("acme", "team-a", "100", "  filter: {tenantId: tenant-a}\n") +
            Budget("gpt", "team-a", "1000", "  filter: {tenantId: tenant-a, model: gpt-4o}\n") +
            Budget("globex", "team-b", "100", "  filter: {tenantId: tenant-b}\n") +
            Budget("everyone", "platform", "5000", ""));
        await BudgetKit.SpendAsync(db.DataSource, Today, 150, tenant: "tenant-a");
        await BudgetKit.SpendAsync(db.DataSource, Today, 10, tenant: "tenant-b");
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?>
        {
            ["Budgets:EvaluatorEnabled"] = "false",
            ["Auth:AdminToken"] = "admin-token",
            ["Auth:TenantTokens:tenant-a"] = "a-token",
            ["Auth:TenantTokens:tenant-b"] = "b-token",
        }, ["--resources", folder.Path]);
        Assert.True(await host.Services.GetRequiredService<BudgetEvaluator>().EvaluateAllAsync(CancellationToken.None));

        async Task<string[]> Names(string token)
        {
            using var doc = JsonDocument.Parse(await host.Client(token).GetStringAsync("/api/v1/budgets"));
            return doc.RootElement.GetProperty("budgets").EnumerateArray().Select(b => b.GetProperty("name").GetString()!).Order().ToArray();
        }
        Assert.Equal(["acme", "gpt"], await Names("a-token"));
        Assert.Equal(["globex"], await Names("b-token"));
        Assert.Equal(["acme", "everyone", "globex", "gpt"], await Names("admin-token"));

        var denied = await host.Client("a-token").GetFromJsonAsync<CheckAnswer>("/api/v1/budgets/check?agent=agent-a&user=u&model=gpt-4o");
        Assert.Equal((false, "deny"), (denied!.Allow, denied.Decision));
        Assert.Equal("budget team-a/acme is exceeded: spent 150 of 100 USD", denied.Reason);
        Assert.Equal(["acme", "gpt"], denied.Budgets.Select(b => b.Name).Order()); // "everyone" applies but is not the tenant's to see

        var allowed = await host.Client("b-token").GetFromJsonAsync<CheckAnswer>("/api/v1/budgets/check?agent=agent-a&model=gpt-4o");
        Assert.Equal((true, "allow"), (allowed!.Allow, allowed.Decision));
        Assert.Equal(["globex"], allowed.Budgets.Select(b => b.Name));

        var admin = await host.Client("admin-token").GetFromJsonAsync<CheckAnswer>("/api/v1/budgets/check?tenant=tenant-b&model=claude");
        Assert.Equal(["everyone", "globex"], admin!.Budgets.Select(b => b.Name).Order());
        Assert.True(admin.Allow);

        var other = await host.Client("b-token").GetAsync("/api/v1/budgets/check?tenant=tenant-a");
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Contains("tenant", await other.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/api/v1/budgets/check?tenant=tenant-a")).StatusCode);
    }
}
