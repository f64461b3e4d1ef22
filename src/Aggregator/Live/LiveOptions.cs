namespace AgentMeter.Aggregator.Live;

/// <summary>Section <c>Live</c>: the rollup of the days not aggregated yet (docs/analytics.md, "Today live").</summary>
public sealed class LiveOptions
{
    /// <summary>How often the live days are rolled up again from their raw events: the staleness bound of today's figures.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// The largest share of the time the refreshes may take: after a refresh of t the next waits at least
    /// t × (1 / share − 1), so a day whose refresh takes 4 s is refreshed every 20 s at 0.2. 1: back to back.
    /// </summary>
    public double MaxShare { get; set; } = 0.2;
    /// <summary>Days back from today (today included) whose events are rolled up while not aggregated: today, and yesterday within its grace.</summary>
    public int Days { get; set; } = 2;
    /// <summary>Off: answers stop at the last aggregated day, as before today was live.</summary>
    public bool Enabled { get; set; } = true;
}
