using System.Net;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// How far back an event may be, how many days one batch may touch, and how far ahead (clock skew):
/// each a 400 naming the event and <c>time</c>, nothing of the batch stored.
/// </summary>
public class BatchRulesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private static readonly DateTime Now = DateTime.UtcNow;

    public async Task InitializeAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync("TRUNCATE usage_events");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static object Event(DateTime time, string id) =>
        new { type = "agent_request", time = time.ToString("yyyy-MM-ddTHH:mm:ssZ"), event_id = id, agent_id = "a", method = "m" };

    private static Task<(HttpStatusCode Status, List<string> Errors)> PostAsync(AggregatorHost host, params object[] events) =>
        IngestClient.PostAsync(host.Client(), events);

    private async Task<long> StoredAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events");
    }

    [Fact]
    public async Task ByDefaultAnEventUpTo90DaysOldIsAcceptedAndAnOlderOneRefused()
    {
        // null: the aggregator's own default, not the test hosts' "no limit".
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Ingest:MaxEventAge"] = null });
        var old = Now.AddDays(-90).AddMinutes(-5);
        var (status, errors) = await PostAsync(host, Event(Now.AddDays(-89), "recent"), Event(old, "old"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal([$"1|time|{old:yyyy-MM-ddTHH:mm:ssZ} is more than 90.00:00:00 (Ingest__MaxEventAge) before the server clock ({Now:yyyy-MM-dd}"],
            errors.Select(e => e[..e.LastIndexOf('T')]));
        Assert.Equal(0, await StoredAsync());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, Event(Now.AddDays(-89), "recent"))).Status);
        Assert.Equal(1, await StoredAsync());
    }

    [Fact]
    public async Task TheAgeLimitIsASetting()
    {
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Ingest:MaxEventAge"] = "02:00:00" });
        var (status, errors) = await PostAsync(host, Event(Now.AddHours(-1), "hour"), Event(Now.AddHours(-3), "three-hours"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("1|time|", Assert.Single(errors));
        Assert.Contains("is more than 02:00:00 (Ingest__MaxEventAge)", errors[0]);
    }

    [Fact]
    public async Task ABatchMaySpanAtMostMaxDaysPerBatchDays()
    {
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Ingest:MaxDaysPerBatch"] = "3" });
        var day = Now.Date.AddDays(-10).AddHours(12);
        var (status, errors) = await PostAsync(host,
            Event(day, "d0"), Event(day.AddDays(1), "d1"), Event(day, "d0-again"), Event(day.AddDays(2), "d2"),
            Event(day.AddDays(3), "d3"), Event(day.AddDays(4), "d4"), Event(day.AddDays(3), "d3-again"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal([$"4|time|is on {day.AddDays(3):yyyy-MM-dd}, past the first 3 of the 5 UTC days this batch spans; at most 3 per batch " +
                      "(Ingest__MaxDaysPerBatch): split it by day"], errors);
        Assert.Equal(0, await StoredAsync());
        // No partition was made for any of them.
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            Assert.Equal(0, await conn.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM generate_series(@from::date, @to::date, '1 day') d WHERE to_regclass(agentmeter_event_partition_name(d::date)) IS NOT NULL",
                new { from = day.Date, to = day.Date.AddDays(4) }));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, Event(day, "d0"), Event(day.AddDays(1), "d1"), Event(day.AddDays(2), "d2"))).Status);
        Assert.Equal(3, await StoredAsync());
    }

    [Fact]
    public async Task AnEventAheadOfTheClockBeyondTheSkewIsStillRefused()
    {
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Ingest:MaxEventAge"] = null });
        var (status, errors) = await PostAsync(host, Event(Now.AddMinutes(3), "skewed"), Event(Now.AddMinutes(10), "future"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("1|time|", Assert.Single(errors));
        Assert.Contains("is more than 00:05:00 ahead of the server clock", errors[0]);
        Assert.Equal(0, await StoredAsync());
    }
}
