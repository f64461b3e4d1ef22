using AgentMeter.Entities.Resources;
using Npgsql;

namespace AgentMeter.Aggregator.Budgets;

/// <summary>
/// The cost of each day for a budget's filter and currency: the one place budgets read spend from. Days are the
/// aggregated days of <c>usage_stats</c> (every revision, late-event corrections included) and the live days not
/// aggregated yet (<c>usage_stats_current</c>: today up to Live__RefreshInterval old); unpriced usage has no cost
/// and so never counts.
/// </summary>
public sealed class BudgetSpend(NpgsqlDataSource db)
{
    public async Task<IReadOnlyDictionary<DateOnly, decimal>> DailyCostsAsync(AlertFilter filter, string currency, DateOnly from, DateOnly to,
        CancellationToken ct)
    {
        var conditions = new List<string>();
        await using var cmd = db.CreateCommand();
        void Match(string column, string? value)
        {
            if (value is null) return;
            conditions.Add($" AND {column} = @{column}");
            cmd.Parameters.AddWithValue(column, value);
        }
        Match("tenant_id", filter.TenantId);
        Match("agent_id", filter.AgentId);
        Match("user_id", filter.UserId);
        Match("model", filter.Model);
        Match("mcp_server_label", filter.ServerLabel);
        Match("tool_name", filter.ToolName);
        cmd.CommandText =
            $"""
            SELECT date, sum(estimated_cost) FROM usage_stats_current
            WHERE date >= @from AND date <= @to AND currency = @currency AND estimated_cost IS NOT NULL{string.Concat(conditions)}
            GROUP BY date
            """;
        cmd.Parameters.AddWithValue("from", from);
        cmd.Parameters.AddWithValue("to", to);
        cmd.Parameters.AddWithValue("currency", currency);
        var days = new Dictionary<DateOnly, decimal>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            days[reader.GetFieldValue<DateOnly>(0)] = reader.GetDecimal(1);
        return days;
    }
}
