using AgentMeter.Aggregator.Database;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Alerts;

/// <summary>UsageAlert evaluation against a real database on a fake clock: groups, states, cooldown, persistence, windows.</summary>
public class AlertEvaluationTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task FiresOncePerGroupAboveTheThresholdAndNotAgainWhileFiring()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "3", "1h", groupBy: "agent"), Noon);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-5), 5, agent: "agent-a");
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-5), 3, agent: "agent-b"); // equal to the threshold: not above
        await kit.EvaluateAsync();

        var sent = Assert.Single(await kit.OutboxAsync());
        Assert.Equal(("agent-a", "firing", "oncall", (string?)null), (sent.GroupKey, sent.EventType, sent.WebhookName, sent.TenantId));
        var states = await kit.StatesAsync("calls");
        Assert.Equal(("Firing", 5m), states["agent-a"]);
        Assert.Equal(("Ok", 3m), states["agent-b"]);

        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await UsageData.CallsAsync(kit.Data, kit.Time.GetUtcNow(), 2, agent: "agent-a");
        await kit.EvaluateAsync();
        Assert.Single(await kit.OutboxAsync());
        Assert.Equal(("Firing", 7m), (await kit.StatesAsync("calls"))["agent-a"]);
    }

    [Fact]
    public async Task ResolvesWhenTheValueFallsAndHoldsBackRefiringWithinTheCooldown()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "3", "10m", cooldown: "1h"), Noon);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-1), 5);
        await kit.EvaluateAsync();
        Assert.Equal(["firing"], (await kit.OutboxAsync()).Select(n => n.EventType));

        kit.Time.Advance(TimeSpan.FromMinutes(11)); // the calls left the 10m window
        await kit.EvaluateAsync();
        Assert.Equal(["firing", "resolved"], (await kit.OutboxAsync()).Select(n => n.EventType));
        Assert.Equal(("Ok", 0m), (await kit.StatesAsync("calls"))[""]);

        // Above again 12 minutes after the notified firing: Firing, but the cooldown holds the notification back…
        await UsageData.CallsAsync(kit.Data, kit.Time.GetUtcNow(), 5);
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await kit.EvaluateAsync();
        Assert.Equal("Firing", (await kit.StatesAsync("calls"))[""].State);
        Assert.Equal(2, (await kit.OutboxAsync()).Count);
        // …and its end too, as nobody was told it began.
        kit.Time.Advance(TimeSpan.FromMinutes(11));
        await kit.EvaluateAsync();
        Assert.Equal("Ok", (await kit.StatesAsync("calls"))[""].State);
        Assert.Equal(2, (await kit.OutboxAsync()).Count);

        // Past the cooldown a new firing is notified, with a new idempotency key.
        kit.Time.Advance(TimeSpan.FromMinutes(40));
        await UsageData.CallsAsync(kit.Data, kit.Time.GetUtcNow(), 5);
        await kit.EvaluateAsync();
        var all = await kit.OutboxAsync();
        Assert.Equal(["firing", "resolved", "firing"], all.Select(n => n.EventType));
        Assert.Equal(3, all.Select(n => n.IdempotencyKey).Distinct().Count());
    }

    [Fact]
    public async Task ARestartNeitherForgetsAFiringAlertNorFiresItAgain()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "3", "10m"), Noon);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-1), 5);
        await kit.EvaluateAsync();
        Assert.Single(await kit.OutboxAsync());

        kit.NewEvaluator();
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await kit.EvaluateAsync();
        Assert.Single(await kit.OutboxAsync());
        Assert.Equal("Firing", (await kit.StatesAsync("calls"))[""].State);

        kit.NewEvaluator();
        kit.Time.Advance(TimeSpan.FromMinutes(10));
        await kit.EvaluateAsync();
        Assert.Equal(["firing", "resolved"], (await kit.OutboxAsync()).Select(n => n.EventType));
    }

    [Fact]
    public async Task AChangeOfValueAloneWritesNoGroupStateYetTheCurrentValueShows()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "3", "1h", groupBy: "agent"), Noon);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-5), 5, agent: "agent-a");
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-5), 2, agent: "agent-b");
        await kit.EvaluateAsync();
        var written = await RowVersionsAsync(kit);

        // Both values change, neither state does: no alert_states row is written, the values show all the same.
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await UsageData.CallsAsync(kit.Data, kit.Time.GetUtcNow(), 2, agent: "agent-a");
        await UsageData.CallsAsync(kit.Data, kit.Time.GetUtcNow(), 1, agent: "agent-b");
        await kit.EvaluateAsync();
        Assert.Equal(written, await RowVersionsAsync(kit));
        var states = await kit.StatesAsync("calls");
        Assert.Equal(("Firing", 7m), states["agent-a"]);
        Assert.Equal(("Ok", 3m), states["agent-b"]);

        // A state change is written.
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await UsageData.CallsAsync(kit.Data, kit.Time.GetUtcNow(), 1, agent: "agent-b");
        await kit.EvaluateAsync();
        var now = await RowVersionsAsync(kit);
        Assert.Equal(written["agent-a"], now["agent-a"]);
        Assert.NotEqual(written["agent-b"], now["agent-b"]);
        Assert.Equal(("Firing", 4m), (await kit.StatesAsync("calls"))["agent-b"]);
        Assert.Equal(["agent-a", "agent-b"], (await kit.OutboxAsync()).Select(n => n.GroupKey));
    }

    /// <summary>Each alert_states row's version (xmin): it changes exactly when the row is written.</summary>
    private static async Task<Dictionary<string, string>> RowVersionsAsync(AlertKit kit)
    {
        await using var conn = await kit.Data.OpenConnectionAsync();
        return (await conn.QueryAsync<(string Group, string Version)>("SELECT group_key, xmin::text FROM alert_states"))
            .ToDictionary(r => r.Group, r => r.Version);
    }

    [Fact]
    public async Task AnEvaluatorReadsTheStatesAnotherReplicaWroteInBetween()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "3", "10m"), Noon);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-1), 5);
        await kit.EvaluateAsync();
        var first = kit.Evaluator;

        // Another replica takes over for a cycle and resolves the group…
        kit.NewEvaluator();
        kit.Time.Advance(TimeSpan.FromMinutes(11));
        await kit.EvaluateAsync();
        Assert.Equal(["firing", "resolved"], (await kit.OutboxAsync()).Select(n => n.EventType));

        // …so when the first evaluates again, the group is Ok, not the Firing it remembers, and fires anew.
        await UsageData.CallsAsync(kit.Data, kit.Time.GetUtcNow(), 5);
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await first.EvaluateAllAsync(CancellationToken.None));
        Assert.Equal(["firing", "resolved", "firing"], (await kit.OutboxAsync()).Select(n => n.EventType));
        Assert.Equal(("Firing", 5m), (await kit.StatesAsync("calls"))[""]);
    }

    [Fact]
    public async Task ALateEventOfATransactionOpenLongBeforeACycleIsCountedOnceItCommits()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "100", "1h"), Noon);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-30), 5);
        await kit.EvaluateAsync();
        Assert.Equal(5m, (await kit.EvaluationAsync("calls")).Value);

        // A writer starts its transaction, and well past the watermark's margin (10 s) a cycle runs while it
        // is still open: its events, for a minute the cache already holds, carry the transaction's start.
        await using var writer = await kit.Data.OpenConnectionAsync();
        await using var tx = await writer.BeginTransactionAsync();
        await writer.ExecuteAsync(
            """
            INSERT INTO usage_events (time, type, agent_id, tool_name, server_label, user_id, tenant_id, status, latency_ms)
            SELECT @time, 'tool_call', 'agent-a', 'search', 'github', 'user-1', 'tenant-a', 'success', 100 FROM generate_series(1, 3)
            """, new { time = Noon.AddMinutes(-30).UtcDateTime }, tx);
        await Task.Delay(TimeSpan.FromSeconds(11));
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await kit.EvaluateAsync();
        Assert.Equal(5m, (await kit.EvaluationAsync("calls")).Value);

        await tx.CommitAsync();
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        await kit.EvaluateAsync();
        Assert.Equal(8m, (await kit.EvaluationAsync("calls")).Value);
    }

    [Fact]
    public async Task TheWindowReadsAggregatedDaysFromUsageStatsAndTheRestFromRawEvents()
    {
        // Window 3d at 2026-11-20 12:00 starts 2026-11-17 12:00.
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "1000", "3d"), Noon);
        await UsageData.StatsAsync(kit.Data, new DateOnly(2026, 11, 17), 7);
        await UsageData.StatsAsync(kit.Data, new DateOnly(2026, 11, 18), 10);
        await UsageData.StatsAsync(kit.Data, new DateOnly(2026, 11, 19), 20);
        await UsageData.CallsAsync(kit.Data, new DateTimeOffset(2026, 11, 17, 6, 0, 0, TimeSpan.Zero), 4);  // before the window start
        await UsageData.CallsAsync(kit.Data, new DateTimeOffset(2026, 11, 17, 18, 0, 0, TimeSpan.Zero), 1); // after it
        await UsageData.CallsAsync(kit.Data, new DateTimeOffset(2026, 11, 18, 9, 0, 0, TimeSpan.Zero), 10); // aggregated: read from usage_stats
        await UsageData.CallsAsync(kit.Data, Noon.AddHours(-2), 3);                                          // today, not aggregated
        await UsageData.CallsAsync(kit.Data, Noon.AddHours(2), 50);                                          // after now: not in the window
        await kit.EvaluateAsync();
        // The partial first day comes from its raw events (1), full aggregated days from usage_stats (10 + 20), today raw (3).
        Assert.Equal(34m, (await kit.EvaluationAsync("calls")).Value);

        // Once retention dropped the first day's raw events, its usage_stats row counts whole.
        await using (var conn = await kit.Data.OpenConnectionAsync())
            await conn.ExecuteAsync("DROP TABLE usage_events_20261117");
        kit.Time.Advance(TimeSpan.FromSeconds(1));
        await kit.EvaluateAsync();
        Assert.Equal(40m, (await kit.EvaluationAsync("calls")).Value);

        // A day not aggregated yet is read from its raw events.
        await using (var conn = await kit.Data.OpenConnectionAsync())
            await conn.ExecuteAsync("DELETE FROM usage_stats WHERE date = '2026-11-18'; DELETE FROM aggregated_days WHERE date = '2026-11-18'");
        await kit.EvaluateAsync();
        Assert.Equal(40m, (await kit.EvaluationAsync("calls")).Value);
    }

    [Fact]
    public async Task EveryMetricKindIsComputed()
    {
        var yaml = string.Concat(
            AlertKit.Alert("tokens", "tokens", "1", "1h"),
            AlertKit.Alert("cost", "cost", "1", "1h", filter: "  filter:\n    model: gpt-4o\n"),
            AlertKit.Alert("errors", "errorRate", "0.1", "1h", groupBy: "tool"),
            AlertKit.Alert("latency", "p95LatencyMs", "1000", "1h"),
            AlertKit.Alert("breakers", "circuitBreakerOpen", "0", "1h", groupBy: "server"),
            AlertKit.Alert("hooks", "webhookFailureRate", "0.5", "1h", filter: "  filter:\n    tenantId: tenant-a\n"),
            AlertKit.Alert("mixed", "cost", "1", "1h"),
            AlertKit.Alert("bad-filter", "circuitBreakerOpen", "0", "1h", filter: "  filter:\n    agentId: agent-a\n"));
        await using var kit = await AlertKit.CreateAsync(yaml, Noon);
        await using (var conn = await kit.Data.OpenConnectionAsync())
        {
            // cost_rates as the CostRate sync writes them; eur-model gives a second currency.
            await conn.ExecuteAsync(
                """
                INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, effective_from)
                VALUES ('gpt-4o', 'gpt-4o', 'USD', 2.5, 10, '2026-01-01'), ('eur-model', 'eur-model', 'EUR', 1, 1, '2026-01-01');
                INSERT INTO server_health_events (time, server_label, state) VALUES
                  ('2026-11-20 08:00Z', 'github', 'open'),      -- open before the window, still open at its start
                  ('2026-11-20 11:30Z', 'jira', 'open'), ('2026-11-20 11:40Z', 'jira', 'closed'),
                  ('2026-11-20 09:00Z', 'slack', 'open'), ('2026-11-20 09:05Z', 'slack', 'closed');
                INSERT INTO webhook_attempts (outbox_id, attempted_at, succeeded, tenant_id, namespace, alert_name, webhook_name, event_type, duration_ms) VALUES
                  (1, '2026-11-20 11:50Z', false, 'tenant-a', 'n', 'a', 'w', 'firing', 1), (1, '2026-11-20 11:51Z', false, 'tenant-a', 'n', 'a', 'w', 'firing', 1),
                  (1, '2026-11-20 11:52Z', true, 'tenant-a', 'n', 'a', 'w', 'firing', 1), (2, '2026-11-20 11:52Z', false, 'tenant-b', 'n', 'a', 'w', 'firing', 1);
                """);
        }
        // 400 000 + 100 000 bytes at 4 bytes/token: 100 000 input and 25 000 output tokens per call.
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-10), 2, model: "gpt-4o", requestBytes: 400_000, responseBytes: 100_000, latencyMs: 50);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-10), 1, tool: "fetch", status: "failure", latencyMs: 5000);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-10), 17, tool: "fetch", latencyMs: 20);
        await UsageData.CallsAsync(kit.Data, Noon.AddMinutes(-10), 1, model: "eur-model", requestBytes: 4_000_000);
        await kit.EvaluateAsync();

        Assert.Equal(2 * 125_000m + 1_000_000m, (await kit.EvaluationAsync("tokens")).Value);
        Assert.Equal(2 * (0.25m + 0.25m), (await kit.EvaluationAsync("cost")).Value);
        var errors = await kit.StatesAsync("errors");
        Assert.Equal(("Ok", 0.055556m), errors["fetch"]);
        Assert.Equal(0m, errors["search"].Value);
        // 21 calls (17 × 20 ms, 2 × 50, 1 × 100, 1 × 5000): the 95th percentile is the 20th, 100 ms, read back within 12.5 %.
        var p95 = (await kit.EvaluationAsync("latency")).Value!.Value;
        Assert.InRange(p95, 100m * 0.875m, 100m * 1.125m);
        var breakers = await kit.StatesAsync("breakers");
        Assert.Equal(["github", "jira"], breakers.Where(b => b.Value.State == "Firing").Select(b => b.Key).Order());
        Assert.Equal(2m / 3m, (await kit.EvaluationAsync("hooks")).Value!.Value, 5);
        Assert.Contains("cost spans currencies EUR, USD", (await kit.EvaluationAsync("mixed")).Error);
        Assert.Contains("circuitBreakerOpen can only be filtered by serverLabel", (await kit.EvaluationAsync("bad-filter")).Error);
        Assert.Empty(await kit.StatesAsync("bad-filter"));
    }

    [Fact]
    public async Task OnlyOneReplicaEvaluatesAtATime()
    {
        await using var kit = await AlertKit.CreateAsync(AlertKit.Alert("calls", "callCount", "3", "10m"), Noon);
        await using var other = await kit.Data.OpenConnectionAsync();
        await other.ExecuteAsync("SELECT pg_advisory_lock(@k)", new { k = AdvisoryLocks.AlertEvaluation });
        Assert.False(await kit.Evaluator.EvaluateAllAsync(CancellationToken.None));
        await other.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.AlertEvaluation });
        Assert.True(await kit.Evaluator.EvaluateAllAsync(CancellationToken.None));
    }
}
