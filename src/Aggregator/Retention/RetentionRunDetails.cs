namespace AgentMeter.Aggregator.Retention;

/// <summary>What one pass did; stored as <c>job_runs.details</c> (JSON) of job <c>retention</c>.</summary>
public sealed class RetentionRunDetails
{
    public int DaysRolledUp { get; set; }
    public int DaysDeleted { get; set; }
    /// <summary>Months (YYYY-MM) whose days moved into usage_stats_monthly in this pass.</summary>
    public List<string> MonthsRolledUp { get; set; } = [];
    public long DailyRowsMoved { get; set; }
    public long DailyRowsDeleted { get; set; }
    public long MonthlyRowsDeleted { get; set; }
    public int PartitionsDropped { get; set; }
    /// <summary>Partitions past the raw retention kept because their day is not aggregated (YYYY-MM-DD).</summary>
    public List<string> PartitionsKept { get; set; } = [];
    public DerivedRowsDeleted DerivedRowsDeleted { get; set; } = new();
    public string Message { get; set; } = "";
}

/// <summary>One recorded pass as <c>GET /api/v1/retention</c> reports it.</summary>
public sealed record RetentionRun(
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    string Result,
    int DaysRolledUp,
    int PartitionsDropped,
    string Message,
    DerivedRowsDeleted DerivedRowsDeleted);
