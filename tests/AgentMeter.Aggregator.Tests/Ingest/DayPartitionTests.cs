using System.Net;
using System.Net.Http.Json;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// Day partitions and long readers. <c>CREATE TABLE … PARTITION OF</c> needs an ACCESS EXCLUSIVE
/// lock on usage_events: queued behind a long reader (a report, a pg_dump) it made every later lock
/// request queue too, so one batch for a new day stalled all ingest, existing days included.
/// </summary>
public class DayPartitionTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events");
        _host = await AggregatorHost.StartAsync(db.ConnectionString);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static object Request(DateOnly day, string id) =>
        new { type = "agent_request", time = $"{day:yyyy-MM-dd}T12:00:00Z", event_id = id, agent_id = "a", method = "m" };

    private Task<HttpResponseMessage> PostAsync(params object[] events) => _host.Client().PostAsJsonAsync("/api/v1/events", events);

    private async Task<bool> PartitionExistsAsync(DateOnly day)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<bool>("SELECT to_regclass(agentmeter_event_partition_name(@day)) IS NOT NULL", new { day });
    }

    [Fact]
    public async Task ABatchForANewDayWaitsForNoReaderAndStallsNoOtherBatch()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        DateOnly existing = today.AddDays(-3), fresh = today.AddDays(-4);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Request(existing, "before"))).StatusCode);
        Assert.False(await PartitionExistsAsync(fresh));

        // A long reader: a transaction that has read usage_events holds its lock until it ends.
        await using var reader = await db.DataSource.OpenConnectionAsync();
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

        await using var conn = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(["before", "existing-day", "new-day"], await conn.QueryAsync<string>("SELECT event_id FROM usage_events ORDER BY event_id"));
    }
}
