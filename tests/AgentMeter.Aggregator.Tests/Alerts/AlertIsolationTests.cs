using System.Text.Json;
using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Tests.Webhooks;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Alerts;

/// <summary>
/// One alert's trouble is its own: a window that cannot be read, a group that cannot be computed, an
/// evaluation that cannot be saved — those alerts are Unknown with the error, every other alert (and
/// every other group) is evaluated as usual. Before, the first such failure ended the whole cycle.
/// </summary>
public class AlertIsolationTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AWindowThatCannotBeReadMakesOnlyItsAlertsUnknown()
    {
        await using var kit = await WebhookHostKit.CreateAsync(
            AlertKit.Alert("week", "callCount", "1", "7d") + AlertKit.Alert("hour", "callCount", "3", "1h"));
        kit.Settings["Auth:AdminToken"] = "admin-token";
        kit.Settings["Webhooks:DispatcherEnabled"] = "false";
        await using var host = await kit.StartAsync();
        // A day inside the 7d window whose stored row the reader cannot take (a NULL histogram bucket, written by hand).
        // Three days back, not yesterday: in the first hour after midnight the 1h window reaches yesterday too.
        var day = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(-3));
        await using (var conn = await kit.Db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                INSERT INTO usage_stats (date, agent_id, call_count, success_count, failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms,
                                         latency_histogram, estimated_input_tokens, estimated_output_tokens)
                VALUES (@day, 'agent-a', 1, 1, 0, 1, 1, 1, '{1,NULL}', 0, 0);
                INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES (@day, 1, 1);
                """, new { day });
        await kit.FireAsync(host);

        using var alerts = JsonDocument.Parse(await host.Client("admin-token").GetStringAsync("/api/v1/alerts"));
        var byName = alerts.RootElement.GetProperty("alerts").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.Equal("Unknown", byName["week"].GetProperty("state").GetString());
        Assert.Contains("the data of the 7.00:00:00 window could not be read", byName["week"].GetProperty("error").GetString());
        Assert.Equal(("Firing", "5", JsonValueKind.Null), (byName["hour"].GetProperty("state").GetString(),
            byName["hour"].GetProperty("currentValue").GetString(), byName["hour"].GetProperty("error").ValueKind));
        await using (var conn = await kit.Db.DataSource.OpenConnectionAsync())
            Assert.Equal(["hour"], await conn.QueryAsync<string>("SELECT DISTINCT alert_name FROM webhook_outbox"));
        Assert.Contains(kit.Logs.Lines, l => l.StartsWith("Error") && l.Contains("Alert window 7.00:00:00 could not be read"));
    }

    [Fact]
    public async Task AGroupThatCannotBeComputedKeepsItsStateAndTheOtherGroupsGoOn()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("spend", "cost", "0.1", "1h", groupBy: "agent"), Noon);
        await using (var conn = await kit.Data.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from)
                VALUES ('gpt-4o', 'gpt-4o', 'USD', 2.5, 10, '2026-01-01'), ('eur-model', 'eur-model', 'EUR', 1, 1, '2026-01-01')
                """);
        // 400 000 + 100 000 bytes: 0.25 + 0.25 USD per gpt-4o call.
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-10), 1, agent: "agent-a", model: "gpt-4o", requestBytes: 400_000, responseBytes: 100_000);
        await kit.EvaluateAsync();
        Assert.Equal(("Firing", 0.5m), (await kit.StatesAsync("spend"))["agent-a"]);

        // agent-a now spends in two currencies (its value has no meaning); agent-b goes above the threshold.
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-5), 1, agent: "agent-a", model: "eur-model", requestBytes: 4_000_000);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-5), 1, agent: "agent-b", model: "gpt-4o", requestBytes: 400_000, responseBytes: 100_000);
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await kit.EvaluateAsync();

        var states = await kit.StatesAsync("spend");
        Assert.Equal(("Firing", 0.5m), states["agent-a"]); // kept: not resolved on an error
        Assert.Equal(("Firing", 0.5m), states["agent-b"]);
        Assert.Equal([("agent-a", "firing"), ("agent-b", "firing")], (await kit.OutboxAsync()).Select(n => (n.GroupKey, n.EventType)));
        var (value, error) = await kit.EvaluationAsync("spend");
        Assert.Equal(0.5m, value);
        Assert.Equal("cost spans currencies EUR, USD in group agent-a: filter or group by model so one currency applies", error);
    }

    [Fact]
    public async Task AnEvaluationThatCannotBeSavedIsReportedAndTheOthersAreSaved()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("broken", "callCount", "3", "1h") + AlertKit.Alert("fine", "callCount", "3", "1h"), Noon);
        await using (var conn = await kit.Data.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                CREATE FUNCTION fault_injected() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.name = 'broken' THEN RAISE EXCEPTION 'fault injected for %', NEW.name; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER fault_injected BEFORE INSERT OR UPDATE ON alert_states FOR EACH ROW EXECUTE FUNCTION fault_injected();
                """);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-10), 5);
        await kit.EvaluateAsync();

        Assert.Equal((5m, (string?)null), await kit.EvaluationAsync("fine"));
        Assert.Equal("Firing", (await kit.StatesAsync("fine"))[""].State);
        var broken = await kit.EvaluationAsync("broken");
        Assert.Null(broken.Value);
        Assert.Equal("the evaluation could not be saved: P0001: fault injected for broken", broken.Error);
        Assert.Empty(await kit.StatesAsync("broken"));
        // Its notification went with its state change: neither was stored.
        Assert.Equal(["fine"], (await kit.OutboxAsync()).Select(n => n.AlertName));
    }
}
