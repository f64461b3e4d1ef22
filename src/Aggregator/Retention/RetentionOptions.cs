namespace AgentMeter.Aggregator.Retention;

public sealed class RetentionOptions
{
    /// <summary>How long dropping a partition may wait for the lock on usage_events before the next pass retries.</summary>
    public TimeSpan PartitionDropLockTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
