namespace AgentMeter.Aggregator.Import;

/// <summary>Section <c>Import</c>: the audit-log import for registries without a gateway.</summary>
public sealed class ImportOptions
{
    /// <summary>Table or view (optionally schema-qualified) with an increasing <c>id</c> plus the tool_call columns.</summary>
    public string? Source { get; set; }
    /// <summary>Database holding the source; default: the aggregator's own database.</summary>
    public string? ConnectionString { get; set; }
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Rows per transaction.</summary>
    public int BatchSize { get; set; } = 5000;
}
