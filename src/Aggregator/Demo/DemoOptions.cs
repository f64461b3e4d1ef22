namespace AgentMeter.Aggregator.Demo;

/// <summary>Section <c>Demo</c>: the generated sample data of the <c>demo</c> command.</summary>
public sealed class DemoOptions
{
    /// <summary>Closed days of history before today (today gets events up to now as well).</summary>
    public int Days { get; set; } = 30;
    /// <summary>Tool calls on an average weekday; weekends are quieter.</summary>
    public int CallsPerDay { get; set; } = 4000;
    /// <summary>Same seed and same day, same data.</summary>
    public int Seed { get; set; } = 42;
}
