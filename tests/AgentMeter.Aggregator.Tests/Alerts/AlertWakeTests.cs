using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.SelfMonitoring;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMeter.Aggregator.Tests.Alerts;

/// <summary>
/// A UsageAlert created, changed or deleted is evaluated within a second (the wake's debounce), not at
/// the next interval; a reload that changes only other kinds does not wake the evaluation.
/// </summary>
public class AlertWakeTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    private const string CostRate = """
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata: {name: gpt-4o}
        spec: {model: gpt-4o, currency: USD, inputPerMillion: "2.5", outputPerMillion: "10", effectiveFrom: "2020-01-01"}
        ---

        """;

    [Fact]
    public async Task AnAlertCreatedChangedOrDeletedIsEvaluatedWithinTheDebounceNotAtTheNextInterval()
    {
        var a = AlertKit.Alert("a", "callCount", "3", "1h");
        await using var kit = await AlertKit.CreateAsync(a, Noon);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-5), 5);
        var migrations = new MigrationState();
        migrations.MarkCompleted();
        // An hour's interval: whatever runs within the test's few fake seconds ran because it was woken.
        using var service = new AlertEvaluationService(kit.Evaluator, kit.Store, migrations, new AlertOptions { EvaluationInterval = TimeSpan.FromHours(1) },
            new SelfMetrics(Prometheus.Metrics.NewCustomRegistry()), kit.Time, NullLogger<AlertEvaluationService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            await EvaluatedAsync(kit, "a", e => e.Value == 5m);

            kit.Rewrite(a + CostRate);
            Assert.False(service.WakePending, "a reload that changed only a CostRate woke the alert evaluation");

            kit.Rewrite(a + AlertKit.Alert("b", "callCount", "3", "1h")); // created
            Assert.True(service.WakePending);
            var created = await EvaluatedAsync(kit, "b", e => e.Value == 5m);
            Assert.True(created - Noon < TimeSpan.FromSeconds(5), $"evaluated {created - Noon} after the change");
            Assert.Equal("Firing", (await kit.StatesAsync("b"))[""].State);

            kit.Rewrite(a + AlertKit.Alert("b", "callCount", "10", "1h")); // changed: threshold above the value
            await PollAsync(kit, async () => (await kit.StatesAsync("b"))[""].State == "Ok", "the changed threshold resolves b");

            kit.Rewrite(AlertKit.Alert("a", "callCount", "7", "1h")); // b deleted, a changed
            await PollAsync(kit, async () => (await kit.StatesAsync("a"))[""].State == "Ok", "a evaluated after b's deletion");
            Assert.True(kit.Time.GetUtcNow() - Noon < TimeSpan.FromSeconds(10));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<DateTimeOffset> EvaluatedAsync(AlertKit kit, string alert, Func<(decimal? Value, DateTime At), bool> done)
    {
        (decimal? Value, DateTime At) row = default;
        await PollAsync(kit, async () =>
        {
            await using var conn = await kit.Data.OpenConnectionAsync();
            row = await conn.QuerySingleOrDefaultAsync<(decimal?, DateTime)>("SELECT value, evaluated_at FROM alert_evaluations WHERE name = @alert", new { alert });
            return row.At != default && done(row);
        }, $"alert {alert} evaluated");
        return new DateTimeOffset(DateTime.SpecifyKind(row.At, DateTimeKind.Utc));
    }

    /// <summary>Steps the fake clock 100 ms at a time (the debounce runs on it) until <paramref name="done"/>, within a real deadline.</summary>
    private static async Task PollAsync(AlertKit kit, Func<Task<bool>> done, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!await done())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"never saw: {what}");
            kit.Time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }
    }
}
