namespace AgentMeter.Aggregator.Live;

/// <summary>Section <c>Live</c>: the rollup of the days not aggregated yet (docs/analytics.md, "Today live").</summary>
public sealed class LiveOptions
{
    /// <summary>How often the live days are rolled up again from their raw events: the staleness bound of today's figures.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Days back from today (today included) whose events are rolled up while not aggregated: today, and yesterday within its grace.</summary>
    public int Days { get; set; } = 2;
    /// <summary>Off: answers stop at the last aggregated day, as before today was live.</summary>
    public bool Enabled { get; set; } = true;
}
