using System.Net.Http.Json;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Values;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Costs;

public class RatePlanTests
{
    private static CostRate Rate(string name, string model, string from, string input = "1") => new()
    {
        Metadata = new() { Name = name },
        Spec = new CostRateSpec
        {
            Model = model, EffectiveFrom = from,
            InputPerMillionTokens = DecimalString.TryParse(input, out var d) ? d : null,
        },
    };

    [Fact]
    public void OfTwoRatesForTheSameModelAndDayTheFirstNameWinsWhateverTheOrder()
    {
        CostRate[] rates = [Rate("zeta", "gpt-4o", "2026-01-01", "9"), Rate("alpha", "gpt-4o", "2026-01-01", "1"), Rate("mid", "gpt-4o", "2026-02-01")];
        foreach (var order in new[] { rates, rates.Reverse().ToArray() })
        {
            var plan = RatePlan.For(order);
            Assert.Equal(["alpha", "mid"], plan.Rates.Select(r => r.Name));
            var problem = Assert.Single(plan.Problems);
            Assert.Equal(("zeta", "spec.effectiveFrom"), (problem.Name, problem.Field));
            Assert.Contains("\"alpha\" already prices model \"gpt-4o\" from 2026-01-01", problem.Problem);
        }
    }

    [Fact]
    public void AModelAndAServerWithTheSameNameAndDateDoNotCollide()
    {
        var server = new CostRate
        {
            Metadata = new() { Name = "paid" },
            Spec = new CostRateSpec { ServerLabel = "gpt-4o", EffectiveFrom = "2026-01-01", ToolCallPrice = DecimalString.FromDecimal(0.01m) },
        };
        Assert.Empty(RatePlan.For([Rate("m", "gpt-4o", "2026-01-01"), server]).Problems);
    }
}

/// <summary>CostRate resources in a --resources file, mirrored into cost_rates by the running aggregator.</summary>
public class CostRateSyncTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"costrates-{Guid.NewGuid():N}.yaml");

    public void Dispose() => File.Delete(_file);

    private static string Rate(string name, string subject, string from, string price, string currency = "USD") =>
        $"""
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata:
          name: {name}
        spec:
          {subject}
          currency: {currency}
          effectiveFrom: "{from}"
          {price}
        ---

        """;

    private sealed record Row(string Name, string? Model, string? ServerLabel, string Currency, decimal InputPerMillion,
        decimal OutputPerMillion, decimal? ToolCallPrice, string EffectiveFrom);

    private async Task<List<Row>> RowsAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return (await conn.QueryAsync<Row>(
            """
            SELECT name, model, server_label AS serverlabel, currency, input_per_million AS inputpermillion,
                   output_per_million AS outputpermillion, tool_call_price AS toolcallprice, effective_from::text AS effectivefrom
            FROM cost_rates ORDER BY name
            """)).ToList();
    }

    /// <summary>Reloads the resources and waits for the background sync to show the expected names.</summary>
    private async Task<List<Row>> ReloadAndWaitAsync(AggregatorHost host, params string[] names)
    {
        host.Services.GetRequiredService<ResourceStore>().Reload();
        for (var i = 0; i < 100; i++)
        {
            var rows = await RowsAsync();
            if (rows.Select(r => r.Name).SequenceEqual(names)) return rows;
            await Task.Delay(50);
        }
        return await RowsAsync();
    }

    [Fact]
    public async Task RatesAreUpsertedAndRemovedWithTheirResources()
    {
        await File.WriteAllTextAsync(_file,
            Rate("gpt-4o-2024", "model: gpt-4o", "2024-08-06", "inputPerMillionTokens: \"2.50\"\n  outputPerMillionTokens: \"10.00\"") +
            Rate("gpt-4o-2026", "model: gpt-4o", "2026-11-15", "inputPerMillionTokens: \"2.00\"\n  outputPerMillionTokens: \"8\"") +
            Rate("search-api", "serverLabel: paid-search", "2026-01-01", "toolCallPrice: \"0.005\"", "EUR"));
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, args: ["--resources", _file]);

        // The start-up sync has run before the host answers.
        Assert.Equal(
            [
                new Row("gpt-4o-2024", "gpt-4o", null, "USD", 2.50m, 10m, null, "2024-08-06"),
                new Row("gpt-4o-2026", "gpt-4o", null, "USD", 2m, 8m, null, "2026-11-15"),
                new Row("search-api", null, "paid-search", "EUR", 0m, 0m, 0.005m, "2026-01-01"),
            ],
            await RowsAsync());

        // Edit one price, remove the server rate.
        await File.WriteAllTextAsync(_file,
            Rate("gpt-4o-2024", "model: gpt-4o", "2024-08-06", "inputPerMillionTokens: \"2.50\"\n  outputPerMillionTokens: \"10.00\"") +
            Rate("gpt-4o-2026", "model: gpt-4o", "2026-11-15", "inputPerMillionTokens: \"1.75\"\n  outputPerMillionTokens: \"8\""));
        var rows = await ReloadAndWaitAsync(host, "gpt-4o-2024", "gpt-4o-2026");
        Assert.Equal(["gpt-4o-2024", "gpt-4o-2026"], rows.Select(r => r.Name));
        Assert.Equal(1.75m, rows[1].InputPerMillion);
    }

    [Fact]
    public async Task TwoRatesSwappingTheirDatesDoNotCollide()
    {
        await File.WriteAllTextAsync(_file,
            Rate("first", "model: m", "2026-01-01", "inputPerMillionTokens: 1") + Rate("second", "model: m", "2026-02-01", "inputPerMillionTokens: 2"));
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, args: ["--resources", _file]);
        await File.WriteAllTextAsync(_file,
            Rate("first", "model: m", "2026-02-01", "inputPerMillionTokens: 1") + Rate("second", "model: m", "2026-01-01", "inputPerMillionTokens: 2"));
        host.Services.GetRequiredService<ResourceStore>().Reload();
        await host.Services.SyncCostRatesAsync(CancellationToken.None);
        Assert.Equal([("first", "2026-02-01"), ("second", "2026-01-01")], (await RowsAsync()).Select(r => (r.Name, r.EffectiveFrom)));
    }

    [Fact]
    public async Task DuplicatesAreReportedAndPriceHistoryShowsTheRateInForceToday()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await File.WriteAllTextAsync(_file,
            Rate("haiku-old", "model: claude-haiku", "2025-01-01", "inputPerMillionTokens: \"0.80\"\n  outputPerMillionTokens: 4") +
            Rate("haiku-new", "model: claude-haiku", today.AddDays(-1).ToString("yyyy-MM-dd"), "inputPerMillionTokens: 1\n  outputPerMillionTokens: 5") +
            Rate("haiku-zz-copy", "model: claude-haiku", today.AddDays(-1).ToString("yyyy-MM-dd"), "inputPerMillionTokens: 99") +
            Rate("haiku-next", "model: claude-haiku", today.AddDays(30).ToString("yyyy-MM-dd"), "inputPerMillionTokens: 2\n  cachedInputPerMillionTokens: \"0.2\"") +
            Rate("tavily", "serverLabel: tavily", "2025-06-01", "toolCallPrice: \"0.008\""));
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, args: ["--resources", _file]);
        using var client = host.Client();

        var history = (await client.GetFromJsonAsync<PriceHistoryResponse>("/api/v1/costrates"))!;

        var haiku = Assert.Single(history.Models);
        Assert.Equal("claude-haiku", haiku.Model);
        Assert.Equal(
            [
                ("haiku-old", "0.8", new DateOnly(2025, 1, 1), (DateOnly?)today.AddDays(-2), false),
                ("haiku-new", "1", today.AddDays(-1), today.AddDays(29), true),
                ("haiku-next", "2", today.AddDays(30), null, false),
            ],
            haiku.Rates.Select(r => (r.Name, r.InputPerMillionTokens, r.EffectiveFrom, r.EffectiveTo, r.InForce)));
        Assert.Equal("0.2", haiku.Rates[2].CachedInputPerMillionTokens);
        var tavily = Assert.Single(history.Servers);
        Assert.Equal(("tavily", "0.008", true, (string?)null), (tavily.Server, tavily.Rates[0].ToolCallPrice, tavily.Rates[0].InForce, tavily.Rates[0].InputPerMillionTokens));
        var problem = Assert.Single(history.Problems);
        Assert.Equal("haiku-zz-copy", problem.Name);
        Assert.DoesNotContain(await RowsAsync(), r => r.Name == "haiku-zz-copy");
    }
}

public class CostRateSampleTests
{
    /// <summary>config/samples/costrates.yaml loads without a problem and prices gpt-4o over time.</summary>
    [Fact]
    public void TheSampleRatesAreValidAndHoldAPriceChange()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "AgentMeter.slnx"))) dir = Path.GetDirectoryName(dir)!;
        var loaded = ResourceLoader.LoadPaths([Path.Combine(dir, "config", "samples", "costrates.yaml")]);
        Assert.Empty(loaded.Problems);
        var plan = RatePlan.For(loaded.Resources.OfType<CostRate>());
        Assert.Empty(plan.Problems);
        Assert.Equal(["2024-05-13", "2024-10-02"], plan.Rates.Where(r => r.Model == "gpt-4o").Select(r => r.EffectiveFrom.ToString("yyyy-MM-dd")).Order());
        Assert.Contains(plan.Rates, r => r.ServerLabel == "tavily" && r.ToolCallPrice == 0.008m);
        Assert.True(plan.Rates.Select(r => r.Model).Distinct().Count() >= 6);
    }
}
