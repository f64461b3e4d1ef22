using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// The WHERE clause every read of usage_stats_all shares: rows overlapping the range, confined to
/// the request's tenant. Built per request (not "@tenant IS NULL OR …") so the tenant index is used.
/// </summary>
public static class StatsFilter
{
    public static string Where(AnalyticsRequest r) =>
        "period_end >= @from AND period_start <= @to" + (r.Tenant is null ? "" : " AND tenant_id = @tenant");

    public static void Bind(NpgsqlCommand cmd, AnalyticsRequest r)
    {
        cmd.Parameters.AddWithValue("from", r.From);
        cmd.Parameters.AddWithValue("to", r.To);
        if (r.Tenant is not null) cmd.Parameters.AddWithValue("tenant", r.Tenant);
    }
}
