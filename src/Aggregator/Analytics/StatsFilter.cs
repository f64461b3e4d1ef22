using Npgsql;

namespace AgentMeter.Aggregator.Analytics;

/// <summary>
/// Parameters every analytics statement shares: @from, @to (the range) and @tenant, bound only when
/// the request is confined to a tenant — the SQL then says "AND tenant_id = @tenant" rather than
/// "@tenant IS NULL OR …", so the tenant index is used.
/// </summary>
public static class StatsFilter
{
    public static void Bind(NpgsqlCommand cmd, AnalyticsRequest r)
    {
        cmd.Parameters.AddWithValue("from", r.From);
        cmd.Parameters.AddWithValue("to", r.To);
        if (r.Tenant is not null) cmd.Parameters.AddWithValue("tenant", r.Tenant);
    }
}
