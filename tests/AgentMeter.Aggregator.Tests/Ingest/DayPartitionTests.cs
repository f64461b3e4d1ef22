using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Time.Testing;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// Day partitions and long readers. <c>CREATE TABLE … PARTITION OF</c> needs an ACCESS EXCLUSIVE
/// lock on usage_events: queued behind a long reader (a report, a pg_dump) it made every later lock
/// request queue too, so one batch for a new day stalled all ingest, existing days included. Now a
/// partition is a table of its own, attached (SHARE UPDATE EXCLUSIVE), made ahead for the coming days
/// and otherwise on the request's path, never by a writer.
/// </summary>
public class DayPartitionTests(DatabaseFixture db) : IngestHostTests(db)
{
    private static object Request(DateOnly day, string id) =>
        new { type = "agent_request", time = $"{day:yyyy-MM-dd}T12:00:00Z", event_id = id, agent_id = "a", method = "m" };

    private Task<HttpResponseMessage> PostAsync(params object[] events) => Host.Client().PostAsJsonAsync("/api/v1/events", events);

    private Task<bool> PartitionExistsAsync(DateOnly day) =>
        ScalarAsync<bool>("SELECT to_regclass(agentmeter_event_partition_name(@day)) IS NOT NULL", new { day });

    [Fact]
    public async Task ABatchForANewDayWaitsForNoReaderAndStallsNoOtherBatch()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        DateOnly existing = today.AddDays(-3), fresh = today.AddDays(-4);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Request(existing, "before"))).StatusCode);
        Assert.False(await PartitionExistsAsync(fresh));

        // A long reader: a transaction that has read usage_events holds its lock until it ends.
        await using var reader = await Db.DataSource.OpenConnectionAsync();
        await using var tx = await reader.BeginTransactionAsync();
        await reader.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events", transaction: tx);

        var newDay = PostAsync(Request(fresh, "new-day"));
        var existingDay = PostAsync(Request(existing, "existing-day"));
        // A wait on the reader's lock lasts until the reader ends, or the 30 s command timeout fails
        // the batch (a 503, which the batches queued behind it waited for): far beyond this.
        var answers = await Task.WhenAll(newDay, existingDay).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.True(await PartitionExistsAsync(fresh));
        await tx.RollbackAsync();

        await using var conn = await Db.DataSource.OpenConnectionAsync();
        Assert.Equal(["before", "existing-day", "new-day"], await conn.QueryAsync<string>("SELECT event_id FROM usage_events ORDER BY event_id"));
    }

    [Fact]
    public async Task ADayWhosePartitionCannotBeMadeYetIsTurnedAwayAloneAndExistingDaysGoOn()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        DateOnly existing = today.AddDays(-3), fresh = today.AddDays(-5);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Request(existing, "before"))).StatusCode);

        // What VACUUM, ANALYZE or DDL on usage_events take: attaching a partition waits for it.
        await using var maintenance = await Db.DataSource.OpenConnectionAsync();
        await using var tx = await maintenance.BeginTransactionAsync();
        await maintenance.ExecuteAsync("LOCK TABLE usage_events IN SHARE UPDATE EXCLUSIVE MODE", transaction: tx);
        var newDay = PostAsync(Request(fresh, "new-day"));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Request(existing, "existing-day"))).StatusCode);
        using var turnedAway = await newDay;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, turnedAway.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), turnedAway.Headers.RetryAfter?.Delta);
        Assert.Contains($"the partition of {fresh:yyyy-MM-dd} cannot be made now",
            (await turnedAway.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        await tx.RollbackAsync();

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Request(fresh, "new-day"))).StatusCode);
        await using var conn = await Db.DataSource.OpenConnectionAsync();
        Assert.Equal(["before", "existing-day", "new-day"], await conn.QueryAsync<string>("SELECT event_id FROM usage_events ORDER BY event_id"));
    }

    [Fact]
    public async Task TodaysAndTheNextDaysPartitionsAreMadeAheadAndKeptAhead()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 3, 30, 22, 0, 0, TimeSpan.Zero));
        await using var host = await AggregatorHost.StartAsync(Db.ConnectionString, services: s => s.AddSingleton<TimeProvider>(clock));
        var start = new DateOnly(2031, 3, 30);
        await WaitForPartitionsAsync(start, start.AddDays(1), start.AddDays(2));
        Assert.False(await PartitionExistsAsync(start.AddDays(3)));
        // It looks again every hour: once it is the next day, the day after next is made.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await PartitionExistsAsync(start.AddDays(3)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no partition for {start.AddDays(3)} was made");
            clock.Advance(TimeSpan.FromMinutes(30));
            await Task.Delay(20);
        }
        Assert.True(clock.GetUtcNow() >= new DateTimeOffset(2031, 3, 31, 0, 0, 0, TimeSpan.Zero));
    }

    private async Task WaitForPartitionsAsync(params DateOnly[] days)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var day in days)
            while (!await PartitionExistsAsync(day))
            {
                Assert.True(DateTime.UtcNow < deadline, $"no partition for {day} was made");
                await Task.Delay(20);
            }
    }
}
