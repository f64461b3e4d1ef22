using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// Batches that queue while the (single) writer is busy are stored in one transaction, each with
/// its own result, and a batch PostgreSQL refuses fails alone. The writer is held busy by a real
/// table lock, so the queue is known before it is written.
/// </summary>
public class GroupCommitTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private static readonly DateTimeOffset Day = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
    private AggregatorHost _host = null!;
    private readonly RecordingObserver _observer = new();

    private sealed class RecordingObserver : IIngestObserver
    {
        public int Events;
        public void OnCommitted(IReadOnlyList<UsageEvent> events) => Interlocked.Add(ref Events, events.Count);
    }
    private IngestService Ingest => _host.Services.GetRequiredService<IngestService>();

    public async Task InitializeAsync()
    {
        // The day's partition exists before the table is locked: the writer is what waits on the lock.
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events; DROP TRIGGER IF EXISTS refuse_poison ON usage_events; " +
                                    "SELECT agentmeter_ensure_event_partition('2026-11-02')");
        _host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Ingest:Writers"] = "1" },
            services: s => s.AddSingleton<IIngestObserver>(_observer));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static UsageEvent[] Batch(string agent, int count, bool ids = true, int first = 0) =>
        Enumerable.Range(first, count).Select(i => new UsageEvent
        {
            Type = EventTypes.ToolCall, Time = Day.AddMinutes(i), EventId = ids ? $"{agent}-{i}" : null, AgentId = agent, ToolName = "search",
            ServerLabel = "github", Status = "success", LatencyMs = 10, RequestBytes = 100, ResponseBytes = 200,
        }).ToArray();

    /// <summary>
    /// Stores <paramref name="first"/> while usage_events is locked, so the writer waits on it;
    /// queues the other batches behind it (their callers give up when <paramref name="giveUp"/> is
    /// cancelled, before the lock goes), then releases the lock.
    /// </summary>
    private Task<Task<WriteResult>[]> StoreBehindBusyWriterAsync(UsageEvent[] first, params UsageEvent[][] queued) =>
        StoreBehindBusyWriterAsync(first, null, queued);

    private async Task<Task<WriteResult>[]> StoreBehindBusyWriterAsync(UsageEvent[] first, CancellationTokenSource? giveUp, params UsageEvent[][] queued)
    {
        await using var locker = await db.DataSource.OpenConnectionAsync();
        await using var tx = await locker.BeginTransactionAsync();
        await locker.ExecuteAsync("LOCK TABLE usage_events IN SHARE MODE", transaction: tx);
        var busy = Ingest.StoreAsync(first, "ingest", default);
        await IngestWriterProbe.WaitForBlockedCopyAsync(db.DataSource);
        var rest = queued.Select(b => Ingest.StoreAsync(b, "ingest", giveUp?.Token ?? default)).ToArray();
        if (giveUp is not null) await giveUp.CancelAsync();
        await tx.RollbackAsync();
        return [busy, .. rest];
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>(sql);
    }

    [Fact]
    public async Task QueuedBatchesShareOneTransactionAndEachGetsItsOwnResult()
    {
        var stores = await StoreBehindBusyWriterAsync(Batch("a", 3), Batch("b", 4), Batch("c", 5, ids: false), Batch("d", 2));
        var results = await Task.WhenAll(stores);
        Assert.Equal([3, 4, 5, 2], results.Select(r => r.Stored.Count));
        Assert.All(results, r => Assert.Equal(0, r.Duplicates));
        Assert.Equal(14, await CountAsync("SELECT count(*) FROM usage_events"));
        // The three queued batches were committed by one transaction (their rows share xmin).
        Assert.Equal(1, await CountAsync("SELECT count(DISTINCT xmin::text) FROM usage_events WHERE agent_id IN ('b', 'c', 'd')"));
        Assert.Equal(2, await CountAsync("SELECT count(DISTINCT xmin::text) FROM usage_events"));
    }

    [Fact]
    public async Task AnEventInTwoBatchesOfOneGroupIsStoredOnceAndCountedAsADuplicateOfTheLaterBatch()
    {
        // b and b-again share events b-2 and b-3; a stored earlier is re-sent in the same group.
        var stores = await StoreBehindBusyWriterAsync(Batch("a", 2), Batch("b", 4), Batch("b", 3, first: 2), Batch("a", 2));
        var results = await Task.WhenAll(stores);
        Assert.Equal([(2, 0), (4, 0), (1, 2), (0, 2)], results.Select(r => (r.Stored.Count, r.Duplicates)));
        Assert.Equal(["b-4"], results[2].Stored.Select(e => e.EventId));
        Assert.Equal(7, await CountAsync("SELECT count(*) FROM usage_events"));
    }

    [Fact]
    public async Task ABatchPostgresRefusesFailsAloneAndTheRestOfItsGroupIsStored()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync(
                """
                CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.agent_id = 'poison' THEN RAISE EXCEPTION 'agent poison is refused'; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER refuse_poison BEFORE INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION refuse_poison();
                """);
        var stores = await StoreBehindBusyWriterAsync(Batch("a", 2), Batch("b", 3), Batch("poison", 2), Batch("c", 4, ids: false));
        var refused = await Assert.ThrowsAsync<PostgresException>(() => stores[2]);
        Assert.Contains("agent poison is refused", refused.MessageText);
        Assert.Equal([2, 3, 4], (await Task.WhenAll(stores[0], stores[1], stores[3])).Select(r => r.Stored.Count));
        Assert.Equal(9, await CountAsync("SELECT count(*) FROM usage_events"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM usage_events WHERE agent_id = 'poison'"));
    }

    [Fact]
    public async Task ABatchWhoseCallerLeftBeforeAWriterTookItIsNotStored()
    {
        using var giveUp = new CancellationTokenSource();
        var stores = await StoreBehindBusyWriterAsync(Batch("a", 2), giveUp, Batch("b", 3), Batch("c", 4));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stores[1]);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stores[2]);
        Assert.Equal(2, (await stores[0]).Stored.Count);
        // Nobody waits for b and c any more, so nobody would learn whether they were stored: they are
        // dropped, and a later batch is written as if they had never been queued.
        Assert.Equal(3, (await Ingest.StoreAsync(Batch("d", 3), "ingest", default)).Stored.Count);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM usage_events WHERE agent_id IN ('b', 'c')"));
        Assert.Equal(5, Volatile.Read(ref _observer.Events));
    }

    [Fact]
    public async Task ABatchWhoseCallerLeftAfterAWriterTookItIsStoredAndObserved()
    {
        using var giveUp = new CancellationTokenSource();
        await using var locker = await db.DataSource.OpenConnectionAsync();
        await using var tx = await locker.BeginTransactionAsync();
        await locker.ExecuteAsync("LOCK TABLE usage_events IN SHARE MODE", transaction: tx);
        var taken = Ingest.StoreAsync(Batch("a", 2), "ingest", giveUp.Token);
        await IngestWriterProbe.WaitForBlockedCopyAsync(db.DataSource);
        // The writer is inside the write, waiting on the lock: the caller leaves.
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => taken);
        await tx.RollbackAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref _observer.Events) < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(2, Volatile.Read(ref _observer.Events));
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM usage_events WHERE agent_id = 'a'"));
    }
}
