namespace AgentMeter.Aggregator.Database;

/// <summary>Keys of the PostgreSQL advisory locks that make one replica do each singleton job.</summary>
public static class AdvisoryLocks
{
    public const long Migrations = 0x4147_4D01;
    public const long Aggregation = 0x4147_4D02;
    public const long Import = 0x4147_4D03;
    public const long Retention = 0x4147_4D04;
    public const long AlertEvaluation = 0x4147_4D05;
    public const long WebhookDispatch = 0x4147_4D06;
    public const long BudgetEvaluation = 0x4147_4D19;
    /// <summary>Taken in SQL (the trigger function agentmeter_cost_running_sync, Definitions/60_cost_running_totals.sql) by every writer of usage_stats_by_dimension until it commits.</summary>
    public const long CostRunningTotals = 0x4147_4D07;

    /// <summary>
    /// Space of the per-day locks (two-key form, <see cref="DayKey"/> the second key): the day's
    /// aggregation holds its day exclusively, a writer of events for a closed day holds it shared.
    /// </summary>
    public const int Day = 0x4147_4D08;

    public static int DayKey(DateOnly day) => day.DayNumber;
}
