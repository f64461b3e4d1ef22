using System.Data;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
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
/// <para>
/// Back-pressure: the queue holds at most <see cref="IngestOptions.MaxQueuedEvents"/> events; a batch
/// past it is turned away at once (<see cref="IngestOutcome.Saturated"/>, nothing stored), and a
/// batch whose caller leaves before a writer took it is dropped, not stored.
/// </para>
/// </summary>
public sealed class IngestService(
    NpgsqlDataSource db, EventWriter writer, DayPartitions partitions, IngestOptions options, TimeProvider time,
    IEnumerable<IIngestObserver> observers, ILogger<IngestService> log)
{
    /// <summary>Events per group: bounds a transaction's size, not memory (queued batches are already in memory).</summary>
    private const int MaxGroupEvents = 20_000;

    private sealed class Pending(IReadOnlyList<UsageEvent> events, string source, StreamedBatch? stream = null)
    {
        /// <summary>The events; of a streamed batch, set once it is complete (if it is written whole after all).</summary>
        public IReadOnlyList<UsageEvent> Events { get; set; } = events;
        public string Source { get; } = source;
        public StreamedBatch? Stream { get; } = stream;
        public TaskCompletionSource<IngestOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        // Both set under the queue's lock: a writer took it, or its caller left before that (a writer skips it).
        public bool Taken { get; set; }
        public bool Withdrawn { get; set; }
    }

    private readonly Queue<Pending> _queue = new();
    private int _writers;
    private long _queuedEvents;
    /// <summary>Events per second the writers stored lately: how long the queue takes to drain, for Retry-After.</summary>
    private double _eventsPerSecond = 10_000;

    /// <summary>
    /// A batch from outside (an ingest endpoint): the caller's rules (<see cref="BatchRules"/>; a tenant's
    /// ingest token is <paramref name="pinnedTenant"/>), back-pressure, then stored as
    /// <see cref="StoreAsync"/> does. Every outcome is a value; a caller that leaves gets an
    /// <see cref="OperationCanceledException"/>, and its batch is not stored unless a writer already took it.
    /// </summary>
    public async Task<IngestOutcome> SubmitAsync(IReadOnlyList<UsageEvent> events, string source, string? pinnedTenant, CancellationToken ct)
    {
        var (allowed, problems) = BatchRules.Check(events, pinnedTenant, time.GetUtcNow(), options);
        if (problems.Count > 0) return new IngestOutcome.Refused(problems);
        return await EnqueueAsync(allowed, source, ct);
    }

    /// <summary>
    /// A batch to be handed to a writer while it is still being read (<see cref="StreamedBatch"/>), when a writer is
    /// free to take it now; null when the writers are busy: then the batch is read whole and queued, and grouped
    /// with the others waiting (group commit) — streaming helps the one client that waits for each batch, while
    /// under load the queue already keeps the database busy.
    /// </summary>
    public StreamedBatch? TryStream(string source, string? pinnedTenant)
    {
        var stream = new StreamedBatch(pinnedTenant, options, time);
        var pending = new Pending([], source, stream);
        lock (_queue)
        {
            if (_queue.Count > 0 || _writers >= options.Writers) return null;
            _queue.Enqueue(pending);
            _writers++;
        }
        stream.Outcome = NotifiedAsync(pending);
        using (ExecutionContext.SuppressFlow()) _ = Task.Run(WriteQueuedAsync, CancellationToken.None);
        return stream;
    }

    /// <summary>
    /// Completes a streamed batch with all its events (read without a problem): the caller's rules and the day
    /// partitions as <see cref="SubmitAsync(IReadOnlyList{UsageEvent}, string, string?, CancellationToken)"/>
    /// checks them, then the writer commits. A refused or turned-away batch is abandoned: nothing stored.
    /// </summary>
    public async Task<IngestOutcome> SubmitAsync(StreamedBatch stream, IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        var (allowed, problems) = BatchRules.Check(events, stream.PinnedTenant, time.GetUtcNow(), options);
        if (problems.Count > 0)
        {
            stream.Abandon();
            return new IngestOutcome.Refused(problems);
        }
        if (await EnsurePartitionsAsync(allowed, ct) is { } turnedAway)
        {
            stream.Abandon();
            return turnedAway;
        }
        stream.Complete(allowed);
        // Taken by a writer already: stored (or not) whether or not the caller still waits.
        return await stream.Outcome.WaitAsync(ct);
    }

    /// <summary>
    /// A batch of the aggregator's own (demo data, tests): no caller rules; throws unless stored
    /// (a failed write's exception as it came).
    /// </summary>
    public async Task<WriteResult> StoreAsync(IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        switch (await EnqueueAsync(events, source, ct))
        {
            case IngestOutcome.Stored stored: return stored.Result;
            case IngestOutcome.Failed failed: ExceptionDispatchInfo.Throw(failed.Error); break;
            case IngestOutcome.Saturated saturated: throw new InvalidOperationException($"ingest is saturated: {saturated.Reason}");
        }
        throw new UnreachableException();
    }

    /// <summary>Events queued and not yet taken by a writer.</summary>
    internal long QueuedEvents => Interlocked.Read(ref _queuedEvents);

    /// <summary>How long the queued events take to write, at the recent rate: the Retry-After of a saturated answer.</summary>
    public TimeSpan RetryAfter
    {
        get
        {
            var seconds = QueuedEvents / Volatile.Read(ref _eventsPerSecond);
            return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(seconds), 1, 60));
        }
    }

    /// <summary>Null when the events' day partitions exist; otherwise the answer for a batch that cannot be written now.</summary>
    private async Task<IngestOutcome?> EnsurePartitionsAsync(IReadOnlyList<UsageEvent> events, CancellationToken ct)
    {
        var days = events.Select(e => DateOnly.FromDateTime(e.Time.UtcDateTime)).ToHashSet();
        try
        {
            if (await partitions.EnsureAsync(days, ct) is { } busy)
                return new IngestOutcome.Saturated(TimeSpan.FromSeconds(30),
                    $"the partition of {busy:yyyy-MM-dd} cannot be made now: usage_events is locked (VACUUM, ANALYZE or DDL)");
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
        {
            return new IngestOutcome.Failed(NothingStored: true, e); // nothing was written yet
        }
    }

    private async Task<IngestOutcome> EnqueueAsync(IReadOnlyList<UsageEvent> events, string source, CancellationToken ct)
    {
        if (await EnsurePartitionsAsync(events, ct) is { } turnedAway) return turnedAway;
        var pending = new Pending(events, source);
        bool startWriter;
        lock (_queue)
        {
            // An empty queue takes any batch, or one larger than the bound could never be stored.
            if (_queuedEvents > 0 && _queuedEvents + events.Count > options.MaxQueuedEvents)
                return new IngestOutcome.Saturated(RetryAfter,
                    $"{_queuedEvents} events are waiting to be written, at most {options.MaxQueuedEvents} (Ingest__MaxQueuedEvents)");
            _queue.Enqueue(pending);
            _queuedEvents += events.Count;
            startWriter = _writers < options.Writers;
            if (startWriter) _writers++;
        }
        // Observers hear of a stored batch even when its caller has stopped waiting.
        var notified = NotifiedAsync(pending);
        if (startWriter)
        {
            // The writer serves every caller: it must not carry this request's trace or other async locals.
            using (ExecutionContext.SuppressFlow()) _ = Task.Run(WriteQueuedAsync, CancellationToken.None);
        }
        try
        {
            return await notified.WaitAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // A caller that leaves takes its batch back while it is still queued: nobody would learn
            // whether it was stored. Once a writer has it, it is stored (or not) all the same, and a
            // retry is reported as duplicates when the events carry event_id.
            lock (_queue)
                if (!pending.Taken)
                {
                    pending.Withdrawn = true;
                    _queuedEvents -= events.Count;
                }
            throw;
        }
    }

    private async Task<IngestOutcome> NotifiedAsync(Pending pending)
    {
        var outcome = await pending.Done.Task;
        if (outcome is IngestOutcome.Stored stored) Notify(stored.Result.Stored);
        return outcome;
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
            }
            catch (Exception e)
            {
                // No connection, so no write began.
                foreach (var pending in group) pending.Done.TrySetResult(new IngestOutcome.Failed(NothingStored: true, e));
                continue;
            }
            try
            {
                if (group[0].Stream is not null) await StoreStreamedAsync(conn, group[0]);
                else await StoreGroupAsync(conn, group);
            }
            catch (PostgresException) when (group.Count > 1 && conn is { State: ConnectionState.Open })
            {
                // Nothing of the group is stored: find the batch PostgreSQL refuses by storing each alone.
                foreach (var pending in group) await StoreAloneAsync(conn, pending);
            }
            catch (Exception e)
            {
                foreach (var pending in group) pending.Done.TrySetResult(Failed(e));
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

    /// <summary>
    /// The queued batches for one transaction (one source, up to <see cref="MaxGroupEvents"/>), or null
    /// when none are left. Batches withdrawn by their callers are dropped here.
    /// </summary>
    private List<Pending>? NextGroup()
    {
        lock (_queue)
        {
            while (_queue.TryPeek(out var withdrawn) && withdrawn.Withdrawn) _queue.Dequeue();
            if (_queue.Count == 0)
            {
                _writers--;
                return null;
            }
            var first = _queue.Dequeue();
            first.Taken = true;
            var group = new List<Pending> { first };
            var events = first.Events.Count;
            // A streamed batch is written alone, as it is read.
            while (first.Stream is null && _queue.TryPeek(out var next) &&
                   (next.Withdrawn || next.Stream is null && next.Source == first.Source && events + next.Events.Count <= MaxGroupEvents))
            {
                _queue.Dequeue();
                if (next.Withdrawn) continue;
                next.Taken = true;
                group.Add(next);
                events += next.Events.Count;
            }
            _queuedEvents -= events;
            return group;
        }
    }

    /// <summary>
    /// PostgreSQL answered the write with an error: the transaction was rolled back, nothing stored —
    /// unless the error ended the session (connection, shutdown, crash), which may come after a commit.
    /// Any other failure (the connection broke, a timeout) leaves the outcome unknown.
    /// </summary>
    private static IngestOutcome.Failed Failed(Exception e) =>
        new(e is PostgresException p && !(p.SqlState.StartsWith("08") || p.SqlState.StartsWith("57P") || p.SqlState.StartsWith("58") ||
                                          p.SqlState.StartsWith("XX")), e);

    private async Task StoreAloneAsync(NpgsqlConnection conn, Pending pending)
    {
        try
        {
            await StoreGroupAsync(conn, [pending]);
        }
        catch (Exception e)
        {
            pending.Done.TrySetResult(Failed(e));
        }
    }

    private async Task StoreGroupAsync(NpgsqlConnection conn, List<Pending> group)
    {
        var started = time.GetTimestamp();
        var results = await writer.StoreAsync(conn, group.Select(p => p.Events).ToArray(), group[0].Source, null, CancellationToken.None);
        Measured(group.Sum(p => p.Events.Count), started);
        for (var i = 0; i < group.Count; i++) group[i].Done.TrySetResult(new IngestOutcome.Stored(results[i]));
    }

    /// <summary>
    /// A streamed batch, copied as it is read. When it is not the usual write (<see cref="EventWriter.StoreStreamedAsync"/>:
    /// more than one day, a day without its partition, a re-sent event) nothing is stored, and once complete it is written whole like a queued batch.
    /// </summary>
    private async Task StoreStreamedAsync(NpgsqlConnection conn, Pending pending)
    {
        var stream = pending.Stream!;
        var started = time.GetTimestamp();
        try
        {
            if (await writer.StoreStreamedAsync(conn, stream, pending.Source, CancellationToken.None) is { } result)
            {
                Measured(result.Stored.Count + result.Duplicates, started);
                pending.Done.TrySetResult(new IngestOutcome.Stored(result));
                return;
            }
        }
        catch (PostgresException) when (conn.State == ConnectionState.Open)
        {
            // Rolled back (a unique violation: an event stored before): written whole below, through the staging table.
        }
        // Abandoned: its caller answers (a bad event, a rule), and nobody waits for this outcome.
        if (await stream.Final is not { } events)
        {
            pending.Done.TrySetResult(new IngestOutcome.Refused([]));
            return;
        }
        pending.Events = events;
        await StoreGroupAsync(conn, [pending]);
    }

    /// <summary>A moving average over the last writes' rates; tiny writes say little about the rate.</summary>
    private void Measured(int events, long started)
    {
        var seconds = time.GetElapsedTime(started).TotalSeconds;
        if (events >= 1000 && seconds > 0) Volatile.Write(ref _eventsPerSecond, 0.8 * Volatile.Read(ref _eventsPerSecond) + 0.2 * (events / seconds));
    }
}
