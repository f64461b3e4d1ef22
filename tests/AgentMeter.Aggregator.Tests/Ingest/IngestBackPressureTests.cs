using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// Back-pressure over real HTTP: the writer is held busy by a real table lock, so what is queued is
/// known. A full queue or memory budget turns a batch away with 503 and Retry-After (nothing stored),
/// a caller that leaves takes its queued batch back, and a write whose outcome is unknown says so.
/// </summary>
public class IngestBackPressureTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private static readonly DateOnly Day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
    private readonly LogCapture _logs = new();
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        // The day's partition exists before the table is locked: the writer is what waits on the lock.
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync("TRUNCATE usage_events; SELECT agentmeter_ensure_event_partition(@Day)", new { Day });
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    /// <summary>One writer, so that the one lock holds every write and the rest is queued.</summary>
    private async Task StartAsync(Dictionary<string, string?> settings) =>
        _host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?>(settings) { ["Ingest:Writers"] = "1" },
            configure: b => b.Logging.AddProvider(_logs));

    private IngestService Ingest => _host.Services.GetRequiredService<IngestService>();

    private static object[] Batch(string prefix, int count, int padding = 1) =>
        [.. Enumerable.Range(0, count).Select(i => new
        {
            type = "agent_request", time = $"{Day:yyyy-MM-dd}T10:00:{i % 60:D2}Z", event_id = $"{prefix}-{i}",
            agent_id = new string('a', padding), method = "tools/call",
        })];

    private Task<HttpResponseMessage> PostAsync(object[] events, CancellationToken ct = default) =>
        _host.Client().PostAsJsonAsync("/api/v1/events", events, ct);

    private async Task<long> StoredAsync(string prefix)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events WHERE event_id LIKE @p", new { p = prefix + "-%" });
    }

    /// <summary>A transaction holding usage_events so that a writer waits; returns once one does.</summary>
    private async Task<(Npgsql.NpgsqlConnection, Npgsql.NpgsqlTransaction)> LockTableAsync()
    {
        var conn = await db.DataSource.OpenConnectionAsync();
        var tx = await conn.BeginTransactionAsync();
        await conn.ExecuteAsync("LOCK TABLE usage_events IN SHARE MODE", transaction: tx);
        return (conn, tx);
    }

    private async Task WaitForQueuedAsync(long events)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Ingest.QueuedEvents != events)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Ingest.QueuedEvents} events queued, expected {events}");
            await Task.Delay(20);
        }
    }

    private static async Task AssertTurnedAwayAsync(HttpResponseMessage response, string reason)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {response.Headers.RetryAfter}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((long)response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, body.GetProperty("retryAfterSeconds").GetInt64());
        Assert.Contains("nothing was stored", body.GetProperty("error").GetString());
        Assert.Contains(reason, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AFullQueueTurnsABatchAwayWithRetryAfterAndStoresNothingOfIt()
    {
        await StartAsync(new() { ["Ingest:MaxQueuedEvents"] = "5" });
        var (conn, tx) = await LockTableAsync();
        await using (conn)
        {
            var first = PostAsync(Batch("first", 3));
            await IngestWriterProbe.WaitForBlockedCopyAsync(db.DataSource);
            var queued = PostAsync(Batch("queued", 3));
            await WaitForQueuedAsync(3);
            using var refused = await PostAsync(Batch("refused", 3));
            await AssertTurnedAwayAsync(refused, "(Ingest__MaxQueuedEvents)");
            await tx.RollbackAsync();
            Assert.All(await Task.WhenAll(first, queued), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        }
        Assert.Equal((3, 3, 0), (await StoredAsync("first"), await StoredAsync("queued"), await StoredAsync("refused")));
        // Sent again once the queue drained, it is stored.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Batch("refused", 3))).StatusCode);
        Assert.Equal(3, await StoredAsync("refused"));
    }

    [Fact]
    public async Task ABodyThatDoesNotFitTheMemoryBudgetIsTurnedAwayUnlessItIsAlone()
    {
        await StartAsync(new() { ["Ingest:MemoryBudgetBytes"] = "65536" });
        var budget = _host.Services.GetRequiredService<IngestMemoryBudget>();
        Assert.Equal(65536, budget.Capacity);
        // ~40 KB of body: with the events read from it, more than the budget.
        var large = Batch("large", 100, padding: 250);
        var (conn, tx) = await LockTableAsync();
        await using (conn)
        {
            var small = PostAsync(Batch("small", 2));
            await IngestWriterProbe.WaitForBlockedCopyAsync(db.DataSource);
            Assert.True(budget.Used > 0, "the queued request holds no memory of the budget");
            using var refused = await PostAsync(large);
            await AssertTurnedAwayAsync(refused, "(Ingest__MemoryBudgetBytes)");
            await tx.RollbackAsync();
            Assert.Equal(HttpStatusCode.OK, (await small).StatusCode);
        }
        Assert.Equal(0, await StoredAsync("large"));
        // Alone, a request may take more than the whole budget: otherwise it could never be stored.
        Assert.Equal(0, budget.Used);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(large)).StatusCode);
        Assert.Equal(100, await StoredAsync("large"));
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task ABatchWhoseCallerHungUpBeforeAWriterTookItIsNotStored()
    {
        await StartAsync([]);
        var (conn, tx) = await LockTableAsync();
        await using (conn)
        {
            var first = PostAsync(Batch("first", 2));
            await IngestWriterProbe.WaitForBlockedCopyAsync(db.DataSource);
            using var hangUp = new CancellationTokenSource();
            var abandoned = PostAsync(Batch("abandoned", 4), hangUp.Token);
            await WaitForQueuedAsync(4);
            await hangUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
            // The server sees the connection go and takes the batch out of the queue.
            await WaitForQueuedAsync(0);
            await tx.RollbackAsync();
            Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        }
        Assert.Equal((2, 0), (await StoredAsync("first"), await StoredAsync("abandoned")));
    }

    [Fact]
    public async Task AWriteWhoseOutcomeIsUnknownSaysSoAndARetryWithTheSameIdsIsSafe()
    {
        await StartAsync([]);
        var (conn, tx) = await LockTableAsync();
        await using (conn)
        {
            var write = PostAsync(Batch("lost", 3));
            var writer = await IngestWriterProbe.WaitForBlockedCopyAsync(db.DataSource);
            // The writer's connection breaks mid-write, as in a failover: the aggregator cannot know
            // whether the commit went through.
            await conn.ExecuteAsync("SELECT pg_terminate_backend(@writer)", new { writer }, tx);
            using var response = await write;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            var error = body.GetProperty("error").GetString()!;
            Assert.Contains("whether it was stored is unknown", error);
            Assert.Contains("with the same event_ids is safe", error);
            Assert.DoesNotContain("nothing was stored", error);
            // The database's own words stay in the log, found by the trace id the answer gives.
            Assert.DoesNotContain("terminating connection", error);
            var traceId = body.GetProperty("traceId").GetString()!;
            Assert.Contains(traceId, error);
            Assert.Contains(_logs.Lines, l => l.Contains(traceId) && l.Contains("terminating connection"));
            await tx.RollbackAsync();
        }
        using var retry = await PostAsync(Batch("lost", 3));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        var counts = await retry.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, counts.GetProperty("accepted").GetInt32() + counts.GetProperty("duplicates").GetInt32());
        Assert.Equal(3, await StoredAsync("lost"));
    }
}
