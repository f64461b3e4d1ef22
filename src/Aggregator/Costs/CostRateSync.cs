using AgentMeter.Aggregator.Resources;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Costs;

/// <summary>
/// Mirrors the CostRates in force into <c>cost_rates</c>: upsert of every valid rate, delete of every
/// rate no longer loaded. Aggregated days keep the cost stored with them, so removing or editing a
/// rate only changes days aggregated from then on.
/// </summary>
public sealed class CostRateSync(NpgsqlDataSource db, ILogger<CostRateSync> log)
{
    /// <summary>Serialises syncs of every replica, so deletes and inserts never interleave.</summary>
    public const long LockKey = 0x4147_4D10;

    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>The plan of the last successful sync (its problems are shown by GET /api/v1/costrates).</summary>
    public RatePlan Last { get; private set; } = RatePlan.Empty;

    public async Task SyncAsync(ResourceSet resources, CancellationToken ct)
    {
        var plan = RatePlan.For(resources.CostRates);
        await _gate.WaitAsync(ct);
        try
        {
            await using var conn = await db.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            await conn.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@LockKey)", new { LockKey }, tx, cancellationToken: ct));
            var existing = (await conn.QueryAsync<(string Name, string? Model, string? ServerLabel, DateOnly EffectiveFrom)>(
                new CommandDefinition("SELECT name, model, server_label, effective_from FROM cost_rates", transaction: tx, cancellationToken: ct)))
                .ToDictionary(r => r.Name, r => (r.Model, r.ServerLabel, r.EffectiveFrom));
            var wanted = plan.Rates.ToDictionary(r => r.Name);
            // Removed rates go; so do rates whose (model/server, effectiveFrom) moved, so that two rates
            // swapping dates never collide on the unique index halfway through.
            var delete = existing
                .Where(e => !wanted.TryGetValue(e.Key, out var w) || w.PriceKey != e.Value)
                .Select(e => e.Key).ToArray();
            var deleted = await conn.ExecuteAsync(new CommandDefinition(
                "DELETE FROM cost_rates WHERE name = ANY(@delete)", new { delete }, tx, cancellationToken: ct));
            var changed = 0;
            foreach (var rate in plan.Rates)
                changed += await conn.ExecuteAsync(new CommandDefinition(Upsert, Parameters(rate), tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            Last = plan;
            foreach (var p in plan.Problems)
                log.LogWarning("CostRate {Name} not used: {Field}: {Problem}", p.Name, p.Field, p.Problem);
            if (deleted > 0 || changed > 0)
                log.LogInformation("Cost rates synced: {Rates} in force, {Changed} written, {Deleted} removed", plan.Rates.Count, changed, deleted);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static object Parameters(PersistedRate r) => new
    {
        r.Name, r.Model, r.ServerLabel, r.Currency, r.InputPerMillion, r.OutputPerMillion, r.CachedInputPerMillion,
        r.ToolCallPrice, r.EffectiveFrom, r.BytesPerToken, r.MaxOutputTokens,
    };

    // The WHERE keeps updated_at meaning "last real change": a reload with nothing new writes nothing.
    private const string Upsert = """
        INSERT INTO cost_rates (name, model, server_label, currency, input_per_million, output_per_million,
                                cached_input_per_million, tool_call_price, effective_from, bytes_per_token, max_output_tokens)
        VALUES (@Name, @Model, @ServerLabel, @Currency, @InputPerMillion, @OutputPerMillion,
                @CachedInputPerMillion, @ToolCallPrice, @EffectiveFrom, @BytesPerToken, @MaxOutputTokens)
        ON CONFLICT (name) DO UPDATE SET
            model = excluded.model, server_label = excluded.server_label, currency = excluded.currency,
            input_per_million = excluded.input_per_million, output_per_million = excluded.output_per_million,
            cached_input_per_million = excluded.cached_input_per_million, tool_call_price = excluded.tool_call_price,
            effective_from = excluded.effective_from, bytes_per_token = excluded.bytes_per_token,
            max_output_tokens = excluded.max_output_tokens, updated_at = now()
        WHERE (cost_rates.model, cost_rates.server_label, cost_rates.currency, cost_rates.input_per_million,
               cost_rates.output_per_million, cost_rates.cached_input_per_million, cost_rates.tool_call_price,
               cost_rates.effective_from, cost_rates.bytes_per_token, cost_rates.max_output_tokens)
              IS DISTINCT FROM
              (excluded.model, excluded.server_label, excluded.currency, excluded.input_per_million,
               excluded.output_per_million, excluded.cached_input_per_million, excluded.tool_call_price,
               excluded.effective_from, excluded.bytes_per_token, excluded.max_output_tokens)
        """;
}
