using System.Data;
using AgentMeter.Entities.Domain;
using Npgsql;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// Stores validated batches all-or-nothing and durably (committed before the caller answers), then
/// tells every <see cref="IIngestObserver"/>.
/// <para>
/// Group commit: batches that arrive while the database is busy with earlier ones wait in a queue,
/// and the next free writer stores everything queued in one transaction and one COPY. A COPY and a
/// commit have a fixed cost in PostgreSQL (setting up the insert, a WAL flush) that a batch of 1,000
/// events otherwise pays alone; under load it is shared, with no added wait when the database is
/// idle. A group is one transaction, so a batch is still all-or-nothing; if the group fails on
/// PostgreSQL's side, each of its batches is tried again alone, so one bad batch never fails another.
/// </para>
/// </summary>
public sealed class IngestService(NpgsqlDataSource db, EventWriter writer, IngestOptions options, IEnumerable<IIngestObserver> observers, ILogger<IngestService> log)
{
    /// <summary>Events per group: bounds a transaction's size, not memory (queued batches are already in memory).</summary>
    private const int MaxGroupEvents = 20_000;

    private sealed class Pending(IReadOnlyList<UsageEvent> events, string source)
    {
        public IReadOnlyList<UsageEvent> Events { get; } = events;
        public string Source { get; } = source;
        public TaskCompletionSource<WriteResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Queue<Pending> _queue = new();
    private int _writers;

    public async Task<WriteResult> StoreAsync(IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        var pending = new Pending(events, source);
        // Observers hear of a stored batch even when its caller has stopped waiting.
        var notified = NotifiedAsync(pending);
        bool startWriter;
        lock (_queue)
        {
            _queue.Enqueue(pending);
            startWriter = _writers < options.Writers;
            if (startWriter) _writers++;
        }
        if (startWriter)
        {
            // The writer serves every caller: it must not carry this request's trace or other async locals.
            using (ExecutionContext.SuppressFlow()) _ = Task.Run(WriteQueuedAsync, CancellationToken.None);
        }
        // A caller that goes away stops waiting; its batch stays queued and is stored all the same
        // (a retry is then reported as duplicates when the events carry event_id).
        return await notified.WaitAsync(ct);
    }

    private async Task<WriteResult> NotifiedAsync(Pending pending)
    {
        var result = await pending.Done.Task;
        Notify(result.Stored);
        return result;
    }

    /// <summary>Observers run after the commit; one that throws must not turn a stored batch into an error.</summary>
    public void Notify(IReadOnlyList<UsageEvent> stored)
    {
        if (stored.Count == 0) return;
        foreach (var observer in observers)
        {
            try { observer.OnCommitted(stored); }
            catch (Exception e) { log.LogError(e, "Ingest observer {Observer} failed; the batch is stored", observer.GetType().Name); }
        }
    }

    /// <summary>
    /// One writer: stores queued groups until the queue is empty, on one connection (a pooled
    /// connection is reset each time it is returned). Never throws, or its slot would be lost:
    /// every outcome goes to the batches' callers.
    /// </summary>
    private async Task WriteQueuedAsync()
    {
        NpgsqlConnection? conn = null;
        while (NextGroup() is { } group)
        {
            try
            {
                conn ??= await db.OpenConnectionAsync();
                await StoreGroupAsync(conn, group);
            }
            catch (PostgresException) when (group.Count > 1 && conn is { State: ConnectionState.Open })
            {
                // Nothing of the group is stored: find the batch PostgreSQL refuses by storing each alone.
                foreach (var pending in group) await StoreAloneAsync(conn, pending);
            }
            catch (Exception e)
            {
                foreach (var pending in group) pending.Done.TrySetException(e);
            }
            // A broken connection is not reused: the next group opens a fresh one.
            if (conn is not null && conn.State != ConnectionState.Open) conn = await CloseAsync(conn);
        }
        if (conn is not null) await CloseAsync(conn);
    }

    private async Task<NpgsqlConnection?> CloseAsync(NpgsqlConnection conn)
    {
        try { await conn.DisposeAsync(); }
        catch (Exception e) { log.LogWarning(e, "Closing an ingest connection failed"); }
        return null;
    }

    /// <summary>The queued batches for one transaction (one source, up to <see cref="MaxGroupEvents"/>), or null when none are left.</summary>
    private List<Pending>? NextGroup()
    {
        lock (_queue)
        {
            if (_queue.Count == 0)
            {
                _writers--;
                return null;
            }
            var first = _queue.Dequeue();
            var group = new List<Pending> { first };
            var events = first.Events.Count;
            while (_queue.TryPeek(out var next) && next.Source == first.Source && events + next.Events.Count <= MaxGroupEvents)
            {
                group.Add(_queue.Dequeue());
                events += next.Events.Count;
            }
            return group;
        }
    }

    private async Task StoreAloneAsync(NpgsqlConnection conn, Pending pending)
    {
        try
        {
            await StoreGroupAsync(conn, [pending]);
        }
        catch (Exception e)
        {
            pending.Done.TrySetException(e);
        }
    }

    private async Task StoreGroupAsync(NpgsqlConnection conn, List<Pending> group)
    {
        var results = await writer.StoreAsync(conn, group.Select(p => p.Events).ToArray(), group[0].Source, null, CancellationToken.None);
        for (var i = 0; i < group.Count; i++) group[i].Done.TrySetResult(results[i]);
    }
}
