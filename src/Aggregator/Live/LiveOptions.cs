namespace AgentMeter.Aggregator.Live;

/// <summary>Section <c>Live</c>: the rollup of the days not aggregated yet (docs/analytics.md, "Today live").</summary>
public sealed class LiveOptions
{
    /// <summary>How often the live days are rolled up again from their raw events: the staleness bound of today's figures.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// The largest share of the time the refreshes may take: after a refresh of t the next waits
    /// t × (1 / share − 1), so a day whose refresh takes 4 s is refreshed every 20 s at 0.2. 1: back to back.
    /// </summary>
    public double MaxShare { get; set; } = 0.2;

    /// <summary>The promise of today live: a stored call is in the answers within a minute.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long to wait after a refresh that took <paramref name="took"/>: <see cref="MaxShare"/>'s rest, but never so long
    /// that a call stored just after a refresh began (it waits for this rest and the next refresh) is older than
    /// <see cref="MaxAge"/> when it shows; past that the share gives way (a refresh of 20 s rests 20 s, one of 30 s none).
    /// </summary>
    public TimeSpan RestAfter(TimeSpan took) =>
        TimeSpan.FromTicks(Math.Clamp((took * (1 / MaxShare - 1)).Ticks, 0, Math.Max(0, (MaxAge - 2 * took).Ticks)));

    /// <summary>Days back from today (today included) whose events are rolled up while not aggregated: today, and yesterday within its grace.</summary>
    public int Days { get; set; } = 2;
    /// <summary>Off: answers stop at the last aggregated day, as before today was live.</summary>
    public bool Enabled { get; set; } = true;
}
