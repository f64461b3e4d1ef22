using AgentMeter.Entities.Domain;

namespace AgentMeter.Aggregator.Reports;

/// <summary>
/// A parsed report request: one calendar month (UTC), the tenant already confined to the caller's
/// token (null only for the admin asking for every tenant), and for chargeback the grouping and format.
/// </summary>
public sealed record ReportRequest(DateOnly Month, string? Tenant, Dimension GroupBy, ReportFormat Format)
{
    public DateOnly From => Month;
    public DateOnly To => Month.AddMonths(1).AddDays(-1);
}

public enum ReportFormat { Csv, Json }
