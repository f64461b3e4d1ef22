using System.Text.Json;
using AgentMeter.Entities.Resources;

namespace AgentMeter.Aggregator.Tests.Budgets;

/// <summary>Budget evaluation against a real database on a fake clock: thresholds once each, restarts, new periods, the forecast.</summary>
public class BudgetEvaluationTests
{
    private static readonly DateTimeOffset Nov20 = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);
    private static DateOnly Day(int d) => new(2026, 11, d);

    [Fact]
    public async Task CrossesFiftyThenHundredPercentAndNotifiesOnceEachAlsoAcrossARestart()
    {
        await using var kit = await BudgetKit.CreateAsync(BudgetKit.Budget("100", "  forecast: false\n  filter: {tenantId: tenant-a}\n"), Nov20);
        await kit.SpendAsync(Day(2), 30);
        await kit.SpendAsync(Day(2), 500, tenant: "tenant-b");  // another tenant: not this budget's
        await kit.SpendAsync(Day(3), 500, currency: "EUR");     // another currency: not counted
        await kit.SpendAsync(new DateOnly(2026, 10, 31), 500); // last month
        var e = await kit.EvaluateAsync();
        Assert.Equal((30m, BudgetStates.UnderBudget, (int?)null), (e.Spent, e.State, e.LastNotifiedThreshold));
        Assert.Empty(await kit.OutboxAsync());

        await kit.SpendAsync(Day(10), 25);
        e = await kit.EvaluateAsync();
        Assert.Equal((55m, BudgetStates.Warning, (int?)50), (e.Spent, e.State, e.LastNotifiedThreshold));
        var first = Assert.Single(await kit.OutboxAsync());
        Assert.Equal(("monthly", "threshold", "50", "Budget"), (first.Name, first.EventType, first.GroupKey, first.Kind));

        // Still between 50 and 80: nothing new, also after a restart.
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await kit.EvaluateAsync();
        kit.NewEvaluator();
        await kit.EvaluateAsync();
        Assert.Single(await kit.OutboxAsync());

        // Past 100 in one step: one notification, for 100 (80 is implied).
        await kit.SpendAsync(Day(19), 50);
        e = await kit.EvaluateAsync();
        Assert.Equal((105m, 0m, BudgetStates.Exceeded, (int?)100), (e.Spent, e.Remaining, e.State, e.LastNotifiedThreshold));
        Assert.Equal(["50", "100"], (await kit.OutboxAsync()).Select(n => n.GroupKey));
        using var payload = JsonDocument.Parse((await kit.OutboxAsync())[1].Payload);
        Assert.Equal("105", payload.RootElement.GetProperty("spent").GetString());
        Assert.Equal("105", payload.RootElement.GetProperty("percentUsed").GetString());

        kit.NewEvaluator();
        await kit.EvaluateAsync();
        Assert.Equal(2, (await kit.OutboxAsync()).Count);
    }

    [Fact]
    public async Task ANewPeriodStartsClean()
    {
        await using var kit = await BudgetKit.CreateAsync(BudgetKit.Budget("100", "  period: week\n  forecast: false\n"), Nov20); // Friday
        await kit.SpendAsync(Day(17), 60);
        var e = await kit.EvaluateAsync();
        Assert.Equal((60m, (int?)50), (e.Spent, e.LastNotifiedThreshold));
        Assert.Equal(new DateTimeOffset(2026, 11, 16, 0, 0, 0, TimeSpan.Zero), e.PeriodStart);

        kit.Time.Advance(TimeSpan.FromDays(3)); // Monday the 23rd: a new week
        e = await kit.EvaluateAsync();
        Assert.Equal((0m, BudgetStates.UnderBudget, (int?)null), (e.Spent, e.State, e.LastNotifiedThreshold));
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero), e.PeriodStart);

        await kit.SpendAsync(Day(23), 55);
        e = await kit.EvaluateAsync();
        Assert.Equal((int?)50, e.LastNotifiedThreshold);
        var sent = await kit.OutboxAsync();
        Assert.Equal(["threshold", "threshold"], sent.Select(n => n.EventType));
        Assert.Equal(2, sent.Select(n => JsonDocument.Parse(n.Payload).RootElement.GetProperty("periodStart").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task TheProjectionCrossesTheAmountBeforeTheSpendAndSaysSo()
    {
        // 10 a day from the 1st: on the 10th (at 00:00) 90 is spent of 200, and the month projects to 300.
        await using var kit = await BudgetKit.CreateAsync(BudgetKit.Budget("200", "  thresholds: [80, 100]\n"), new DateTimeOffset(2026, 11, 10, 0, 0, 0, TimeSpan.Zero));
        for (var d = 1; d < 10; d++) await kit.SpendAsync(Day(d), 10);

        var e = await kit.EvaluateAsync();

        Assert.Equal((90m, 300m, BudgetStates.ProjectedOverrun), (e.Spent, e.Projected, e.State));
        Assert.Equal(Day(20), e.ProjectedExhaustion);
        Assert.Equal("runRate", e.ForecastMethod);
        var forecast = Assert.Single(await kit.OutboxAsync());
        Assert.Equal("forecast", forecast.EventType);
        using var payload = JsonDocument.Parse(forecast.Payload);
        Assert.Equal("2026-11-20", payload.RootElement.GetProperty("projectedExhaustion").GetString());

        // Once per period: still projected over, no second forecast; the spend reaching 80 % is its own notification.
        kit.Time.Advance(TimeSpan.FromDays(7));
        for (var d = 10; d < 17; d++) await kit.SpendAsync(Day(d), 10);
        e = await kit.EvaluateAsync();
        Assert.Equal((160m, (int?)80), (e.Spent, e.LastNotifiedThreshold));
        Assert.Equal(["forecast", "threshold"], (await kit.OutboxAsync()).Select(n => n.EventType));
    }

    [Fact]
    public async Task WithForecastOffAProjectedOverrunIsNeitherAStateNorANotification()
    {
        await using var kit = await BudgetKit.CreateAsync(BudgetKit.Budget("200", "  forecast: false\n  thresholds: [90]\n"), new DateTimeOffset(2026, 11, 10, 0, 0, 0, TimeSpan.Zero));
        for (var d = 1; d < 10; d++) await kit.SpendAsync(Day(d), 10);
        var e = await kit.EvaluateAsync();
        Assert.Equal((300m, BudgetStates.UnderBudget), (e.Projected, e.State));
        Assert.Empty(await kit.OutboxAsync());
    }
}
