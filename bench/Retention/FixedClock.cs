namespace AgentMeter.Bench.Retention;

/// <summary>A clock standing still, so the pass sees the same "today" as the baseline.</summary>
public sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
