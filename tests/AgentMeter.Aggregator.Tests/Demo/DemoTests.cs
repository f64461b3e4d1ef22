using System.Net.Http.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Demo;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;
using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Aggregator.Tests.Demo;

public class DemoGeneratorTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-29T14:30:00Z");
    private static readonly List<UsageEvent> Events = DemoGenerator.Generate(new DemoOptions(), Now);
    private static List<UsageEvent> Calls => Events.Where(e => e.Type == EventTypes.ToolCall).ToList();

    [Fact]
    public void SameSeedSameEventsAndLaterRunsOnlyAddTodaysNewEvents()
    {
        Assert.Equal(Events, DemoGenerator.Generate(new DemoOptions(), Now));
        var later = DemoGenerator.Generate(new DemoOptions(), Now.AddHours(3));
        Assert.True(later.Count > Events.Count);
        var ids = later.Select(e => e.EventId).ToHashSet();
        Assert.All(Events, e => Assert.Contains(e.EventId, ids));
        Assert.Equal(Events.Count, Events.Select(e => e.EventId).Distinct().Count());
        Assert.NotEqual(Events, DemoGenerator.Generate(new DemoOptions { Seed = 7 }, Now));
    }

    [Fact]
    public void ThirtyClosedDaysPlusTodayUpToNow()
    {
        Assert.Equal(DateTimeOffset.Parse("2026-10-30T00:00:00Z"), Events.Min(e => e.Time).Date);
        Assert.True(Events.Max(e => e.Time) <= Now);
        Assert.Equal(31, Calls.Select(e => e.Time.UtcDateTime.Date).Distinct().Count());
    }

    [Fact]
    public void ManyTenantsAgentsUsersToolsServersAndTheSampleModels()
    {
        Assert.Equal(4, Calls.Select(e => e.TenantId).Distinct().Count());
        Assert.Equal(40, Calls.Select(e => e.AgentId).Distinct().Count());
        Assert.True(Calls.Select(e => e.UserId).Distinct().Count() >= 40);
        Assert.True(Calls.Select(e => e.ServerLabel).Distinct().Count() >= 6);
        Assert.True(Calls.Select(e => e.ToolName).Distinct().Count() >= 15);
        Assert.Superset(new HashSet<string?> { "gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash", "llama-3.1-70b" }, Calls.Select(e => e.Model).ToHashSet());
    }

    [Fact]
    public void FailuresLatencyTailsBreakerFlapsAndSseSessions()
    {
        var failureRate = Calls.Count(e => e.Status == "failure") / (double)Calls.Count;
        Assert.InRange(failureRate, 0.01, 0.1);
        var latencies = Calls.Where(e => e.ToolName == "read_file").Select(e => e.LatencyMs!.Value).Order().ToList();
        Assert.True(latencies[(int)(latencies.Count * 0.995)] > 5 * latencies[latencies.Count / 2], "a read_file latency tail");

        var breaker = Events.Where(e => e.Type == EventTypes.CircuitBreaker).ToList();
        Assert.True(breaker.Select(e => e.ServerLabel).Distinct().Count() >= 3);
        Assert.Contains(breaker.GroupBy(e => e.ServerLabel), g => g.Count(e => e.State == "open") >= 2); // a flap
        Assert.All(breaker.GroupBy(e => e.ServerLabel), g => Assert.Equal("open", g.First().State));

        Assert.All(breaker.GroupBy(e => e.ServerLabel), g => Assert.Equal("closed", g.Last().State));

        var sse = Events.Where(e => e.Type == EventTypes.SseConnection).ToList();
        Assert.True(sse.Count(e => e.State == "opened") > sse.Count(e => e.State == "closed"), "some sessions are open right now");
        Assert.True(Calls.Count(e => e.InputTokens is not null) > 0 && Calls.Count(e => e.InputTokens is null) > 0);
        Assert.Contains(Events, e => e.Type == EventTypes.AgentRequest && e.Method == "tools/list");
    }
}

public class DemoBreakerTests
{
    [Theory]
    [InlineData(42, "2026-11-29T14:30:00Z")]
    [InlineData(42, "2026-11-30T09:00:00Z")]
    [InlineData(7, "2026-11-29T14:30:00Z")]
    [InlineData(1234, "2027-03-01T23:59:00Z")]
    public void EveryIncidentGoesOpenHalfOpenClosedAndEndsClosed(int seed, string now)
    {
        var events = DemoGenerator.Generate(new DemoOptions { Seed = seed }, DateTimeOffset.Parse(now));
        foreach (var server in events.Where(e => e.Type == EventTypes.CircuitBreaker).GroupBy(e => e.ServerLabel))
        {
            var states = server.Select(e => e.State).ToList();
            Assert.Equal("closed", states[^1]);
            // Each step is a transition a breaker makes: closed → open → half_open → open | closed.
            var steps = states.Zip(states.Skip(1), (a, b) => $"{a}->{b}").ToHashSet();
            Assert.Subset(new HashSet<string> { "closed->open", "open->half_open", "half_open->open", "half_open->closed" }, steps);
        }
    }
}

public class DemoHealthTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task OnDemoDataEveryServerEndsClosedAndIsMostlyUp()
    {
        // The default demo (its draws decide the incidents) at a fixed time that produced a never-closing incident.
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T14:30:00Z"));
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, verb: "demo", services: s => s.AddSingleton<TimeProvider>(clock));
        await host.Services.SeedDemoAsync(host.App.Configuration, default);

        using var client = host.Client();
        foreach (var period in new[] { "7d", "30d" })
        {
            var health = (await client.GetFromJsonAsync<HealthResponse>($"/api/v1/analytics/health?period={period}"))!;
            Assert.NotEmpty(health.Servers);
            Assert.All(health.Servers, s =>
            {
                Assert.Equal("closed", s.CurrentState);
                Assert.Equal("closed", s.Intervals[^1].State);
                Assert.True(s.UptimePercent > 90, $"{s.Server} up {s.UptimePercent} % over {period}");
            });
        }
    }
}

public class DemoSeedTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task SeedGoesThroughIngestIsNeverDoubledAndAggregates()
    {
        var settings = new Dictionary<string, string?> { ["Demo:Days"] = "3", ["Demo:CallsPerDay"] = "300" };
        // Seeded before the host runs, as the demo verb does.
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, settings, verb: "demo",
            beforeStart: app => app.Services.SeedDemoAsync(app.Configuration, default));
        await using var conn = await db.DataSource.OpenConnectionAsync();
        var stored = await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events");
        Assert.True(stored > 600);
        Assert.Equal(stored, await conn.ExecuteScalarAsync<long>("SELECT count(DISTINCT event_id) FROM usage_events"));

        await host.Services.SeedDemoAsync(host.App.Configuration, default);
        Assert.Equal(stored, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events"));

        // The host's own scheduler may hold the aggregation lock for its catch-up: ours then skips; wait for either.
        var aggregator = host.Services.GetRequiredService<DailyAggregator>();
        for (var i = 0; i < 300 && await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM aggregated_days") < 3; i++)
        {
            await aggregator.CatchUpAsync(default);
            await Task.Delay(100);
        }
        Assert.Equal(3L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM aggregated_days"));
        Assert.Equal(
            await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events WHERE type = 'tool_call' AND time < (now() AT TIME ZONE 'UTC')::date"),
            await conn.ExecuteScalarAsync<long>("SELECT sum(call_count) FROM usage_stats"));
    }
}
