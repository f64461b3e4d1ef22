using System.Threading.Channels;

namespace AgentMeter.Aggregator.Database;

/// <summary>
/// A background job that runs once migrations ran, then every <see cref="Interval"/>, and shortly
/// after <see cref="Wake"/>. Whatever goes wrong in a run is logged and the next interval tries again:
/// a failed run must not stop the job.
/// </summary>
public abstract class RecurringJob(MigrationState migrations, TimeProvider time, ILogger log) : BackgroundService
{
    /// <summary>
    /// How long a wake waits before running: the changes of one apply (a ConfigMap swap, several
    /// resources written together) arrive as a burst, and one run after the burst sees them all.
    /// </summary>
    public static readonly TimeSpan WakeDebounce = TimeSpan.FromMilliseconds(500);

    // Capacity one, further wakes dropped: any number of wakes before the run is one run.
    private readonly Channel<bool> _wakes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    protected TimeProvider Time { get; } = time;

    protected abstract TimeSpan Interval { get; }

    /// <summary>What the job does, for the log ("Alert evaluation").</summary>
    protected abstract string Name { get; }

    protected abstract Task RunOnceAsync(CancellationToken ct);

    /// <summary>
    /// How long to rest after a run that took <paramref name="took"/> before the next may start (none by default):
    /// a job whose run grows with the data bounds its share of the database this way, and a run longer than the
    /// interval is then not followed at once by the next.
    /// </summary>
    protected virtual TimeSpan RestAfter(TimeSpan took) => TimeSpan.Zero;

    /// <summary>Runs the job <see cref="WakeDebounce"/> from now instead of at the next interval; the interval schedule goes on.</summary>
    public void Wake() => _wakes.Writer.TryWrite(true);

    /// <summary>A wake waits to be served (it stays pending through the debounce): what tests read to see that a change did or did not wake the job.</summary>
    internal bool WakePending => _wakes.Reader.Count > 0;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await migrations.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(Interval, Time);
        var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
        var wake = _wakes.Reader.WaitToReadAsync(stoppingToken).AsTask();
        while (true)
        {
            // Real time, not Time: the rest bounds the database time a run takes, which a test's clock does not simulate.
            var started = TimeProvider.System.GetTimestamp();
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogError(e, "{Job} failed, retrying at the next interval: {Message}", Name, e.Message);
            }
            if (RestAfter(TimeProvider.System.GetElapsedTime(started)) is var rest && rest > TimeSpan.Zero)
                await Task.Delay(rest, Time, stoppingToken);
            if (await Task.WhenAny(tick, wake) == wake)
            {
                await wake;
                await Task.Delay(WakeDebounce, Time, stoppingToken);
                // Wakes during the debounce are served by this run.
                _wakes.Reader.TryRead(out _);
                wake = _wakes.Reader.WaitToReadAsync(stoppingToken).AsTask();
            }
            else
            {
                if (!await tick) return;
                tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
            }
        }
    }
}
