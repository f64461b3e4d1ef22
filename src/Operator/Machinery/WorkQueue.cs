namespace AgentMeter.Operator.Machinery;

/// <summary>
/// Keys waiting for a reconcile, with client-go's guarantees: a key is queued at most once, never handed to two
/// workers at the same time (an Add while it is being processed re-queues it when Done), and failures come
/// back after a per-key exponential backoff with jitter.
/// </summary>
public sealed class WorkQueue(TimeProvider time, TimeSpan baseDelay, TimeSpan maxDelay)
{
    private readonly object _gate = new();
    private readonly Queue<string> _ready = new();
    private readonly HashSet<string> _dirty = [];
    private readonly HashSet<string> _processing = [];
    private readonly Dictionary<string, int> _failures = [];
    private readonly SemaphoreSlim _signal = new(0);

    public WorkQueue(TimeProvider time) : this(time, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(5)) { }

    /// <summary>Keys queued or waiting to be re-queued (the queue-depth metric).</summary>
    public int Depth { get { lock (_gate) return _dirty.Count; } }

    public void Add(string key)
    {
        lock (_gate)
        {
            if (!_dirty.Add(key) || _processing.Contains(key)) return;
            _ready.Enqueue(key);
        }
        _signal.Release();
    }

    /// <summary>
    /// Adds the key again after its backoff: 50 ms, 100 ms, … up to 5 minutes, ±20 % jitter, or later when the
    /// API server asked for it (<paramref name="retryAfter"/>).
    /// </summary>
    public TimeSpan AddRateLimited(string key, CancellationToken ct, TimeSpan? retryAfter = null)
    {
        int failures;
        lock (_gate) failures = _failures[key] = _failures.GetValueOrDefault(key) + 1;
        var delay = Backoff.Delay(baseDelay, maxDelay, failures, retryAfter);
        AddAfter(key, delay, ct);
        return delay;
    }

    public void AddAfter(string key, TimeSpan delay, CancellationToken ct)
    {
        _ = Task.Delay(delay, time, ct).ContinueWith(t => { if (!t.IsCanceled) Add(key); }, TaskScheduler.Default);
    }

    /// <summary>Clears the failure count after a successful reconcile.</summary>
    public void Forget(string key)
    {
        lock (_gate) _failures.Remove(key);
    }

    public async Task<string> TakeAsync(CancellationToken ct)
    {
        while (true)
        {
            await _signal.WaitAsync(ct);
            lock (_gate)
            {
                if (!_ready.TryDequeue(out var key)) continue;
                _dirty.Remove(key);
                _processing.Add(key);
                return key;
            }
        }
    }

    public void Done(string key)
    {
        lock (_gate)
        {
            _processing.Remove(key);
            if (!_dirty.Contains(key)) return;
            _ready.Enqueue(key);
        }
        _signal.Release();
    }
}
