using System.Threading.Channels;
using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Ingest;

/// <summary>
/// A batch handed to a writer while its body is still being read, so that one client's batch is parsed and
/// written at the same time instead of one after the other. The reader offers the events as it reads them (JSON,
/// NDJSON, OTLP spans mapped), then completes the batch with all of them, or abandons it (a bad event, a rule
/// broken, the caller gone). The writer copies each chunk as it comes and commits only a completed batch: still all-or-nothing.
/// </summary>
public sealed class StreamedBatch(string? pinnedTenant, IngestOptions options, TimeProvider time)
{
    /// <summary>Events per chunk: the writer starts on the first ones while the rest are read.</summary>
    public const int ChunkEvents = 200;

    private readonly Channel<IReadOnlyList<UsageEvent>> _chunks =
        Channel.CreateUnbounded<IReadOnlyList<UsageEvent>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<IReadOnlyList<UsageEvent>?> _final = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string? PinnedTenant => pinnedTenant;

    /// <summary>What became of the batch: set by <see cref="IngestService.TryStream"/> when it queues it, before the batch is handed out.</summary>
    internal Task<IngestOutcome> Outcome { get; set; } = null!;

    /// <summary>The whole batch as it is to be stored (the caller's rules applied) once complete; null once abandoned.</summary>
    public Task<IReadOnlyList<UsageEvent>?> Final => _final.Task;

    /// <summary>The next chunk, or null when no more will come (then <see cref="Final"/> says whether the batch is complete).</summary>
    public async ValueTask<IReadOnlyList<UsageEvent>?> NextAsync(CancellationToken ct) =>
        await _chunks.Reader.WaitToReadAsync(ct) && _chunks.Reader.TryRead(out var chunk) ? chunk : null;

    private int _offered;

    /// <summary>
    /// The events read so far, each time one more was read: every <see cref="ChunkEvents"/> new ones go to the
    /// writer, checked here against the caller's rules (<see cref="BatchRules"/>, which fill in a tenant token's
    /// tenant). A chunk that breaks a rule abandons the batch: its answer comes from the whole batch's check, which
    /// finds the same problem.
    /// </summary>
    public void Offer(IReadOnlyList<UsageEvent> read)
    {
        if (read.Count - _offered < ChunkEvents || _final.Task.IsCompleted) return;
        var chunk = read.Skip(_offered).ToArray();
        _offered = read.Count;
        var (allowed, problems) = BatchRules.Check(chunk, pinnedTenant, time.GetUtcNow(), options);
        if (problems.Count > 0) Abandon();
        else _chunks.Writer.TryWrite(allowed);
    }

    /// <summary>
    /// Every event was read and passed; <paramref name="events"/> is the batch as it is to be stored (the rules
    /// applied, as they were to the chunks offered). The rest of it goes to the writer, which may commit once it has
    /// copied everything.
    /// </summary>
    public void Complete(IReadOnlyList<UsageEvent> events)
    {
        if (_final.Task.IsCompleted) return;
        if (events.Count > _offered) _chunks.Writer.TryWrite(events.Skip(_offered).ToArray());
        _offered = events.Count;
        if (_final.TrySetResult(events)) _chunks.Writer.TryComplete();
    }

    /// <summary>Nothing of the batch may be stored. Safe to call at any time, and a no-op once completed.</summary>
    public void Abandon()
    {
        if (_final.TrySetResult(null)) _chunks.Writer.TryComplete();
    }
}
