using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Aggregation;

/// <summary>
/// usage_events_estimated against hand-computed figures: token estimates from bytes, the rate in
/// force per UTC day, cached-input pricing, per-call server prices and every unpriced case.
/// </summary>
public class EstimatedEventsViewTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private sealed record Row(string? Model, string? ServerLabel, long Input, long Output, decimal? Cost, string? Currency, string? Reason);

    public async Task InitializeAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync(
            """
            TRUNCATE usage_events, cost_rates;
            SELECT agentmeter_ensure_event_partition(d::date) FROM unnest(ARRAY['2025-12-31', '2026-11-01', '2026-11-02']) d;
            -- gpt-4o: price change on 2026-11-02 with another bytes/token and an output cap.
            INSERT INTO cost_rates (name, model, currency, input_per_million, output_per_million, cached_input_per_million, effective_from, bytes_per_token, max_output_tokens) VALUES
              ('gpt-4o-2026-01', 'gpt-4o', 'USD', 5, 15, NULL, '2026-01-01', 4, NULL),
              ('gpt-4o-2026-11', 'gpt-4o', 'USD', 2.5, 10, 1.25, '2026-11-02', 3, 100);
            INSERT INTO cost_rates (name, server_label, currency, tool_call_price, effective_from) VALUES
              ('github-calls', 'github', 'USD', 0.001, '2026-01-01'),
              ('eu-calls', 'eu-search', 'EUR', 0.002, '2026-01-01');
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<Row> EstimateAsync(string time, string? model, string server, long? inTok = null, long? outTok = null, long? cached = null)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        var id = Guid.NewGuid().ToString();
        await conn.ExecuteAsync(
            """
            INSERT INTO usage_events (time, type, event_id, agent_id, tool_name, server_label, model, status, latency_ms,
                                      request_bytes, response_bytes, input_tokens, output_tokens, cached_input_tokens)
            VALUES (@time::timestamptz, 'tool_call', @id, 'agent', 'search', @server, @model, 'success', 10, 1001, 2000, @inTok, @outTok, @cached)
            """, new { time, id, server, model, inTok, outTok, cached });
        return await conn.QuerySingleAsync<Row>(
            """
            SELECT model, server_label AS serverlabel, estimated_input_tokens AS input, estimated_output_tokens AS output,
                   estimated_cost AS cost, currency, unpriced_reason AS reason
            FROM usage_events_estimated WHERE event_id = @id
            """, new { id });
    }

    [Fact]
    public async Task OldRateBeforeThePriceChangeBytesDividedByFourPlusServerCallPrice()
    {
        // 1001 B / 4 → 251 (rounded up), 2000 B / 4 → 500; (251·5 + 500·15) / 1e6 + 0.001
        var r = await EstimateAsync("2026-11-01T23:59:59Z", "gpt-4o", "github");
        Assert.Equal((251, 500), (r.Input, r.Output));
        Assert.Equal(0.009755m, r.Cost);
        Assert.Equal("USD", r.Currency);
    }

    [Fact]
    public async Task NewRateFromItsUtcDayWithItsBytesPerTokenAndOutputCap()
    {
        // 1001 B / 3 → 334, 2000 B / 3 → 667 capped at 100; (334·2.5 + 100·10) / 1e6 + 0.001
        var r = await EstimateAsync("2026-11-02T00:00:00Z", "gpt-4o", "github");
        Assert.Equal((334, 100), (r.Input, r.Output));
        Assert.Equal(0.002835m, r.Cost);
    }

    [Fact]
    public async Task GatewayCountsWinAndCachedInputIsPricedAtTheCachedRate()
    {
        // 1000 input of which 400 cached, 50 output: (600·2.5 + 400·1.25 + 50·10) / 1e6; no server rate
        var r = await EstimateAsync("2026-11-02T01:00:00Z", "gpt-4o", "no-price", 1000, 50, 400);
        Assert.Equal((1000, 50), (r.Input, r.Output));
        Assert.Equal(0.0025m, r.Cost);
        Assert.Null(r.Reason);
    }

    [Fact]
    public async Task CachedInputWithoutACachedPriceCostsTheNormalInputPrice()
    {
        // old rate has no cached price: 1000·5 + 50·15
        var r = await EstimateAsync("2026-11-01T01:00:00Z", "gpt-4o", "no-price", 1000, 50, 400);
        Assert.Equal(0.00575m, r.Cost);
    }

    [Fact]
    public async Task ModelWithoutARateIsUnpricedNotZeroAndUsesFourBytesPerToken()
    {
        var r = await EstimateAsync("2026-11-02T01:00:00Z", "claude-sonnet", "github");
        Assert.Equal((251, 500), (r.Input, r.Output));
        Assert.Null(r.Cost);
        Assert.Null(r.Currency);
        Assert.Equal("no CostRate for model claude-sonnet in force on 2026-11-02", r.Reason);
    }

    [Fact]
    public async Task ModelBeforeItsFirstEffectiveDayIsUnpriced()
    {
        var r = await EstimateAsync("2025-12-31T23:00:00Z", "gpt-4o", "no-price");
        Assert.Null(r.Cost);
        Assert.Contains("in force on 2025-12-31", r.Reason);
    }

    [Fact]
    public async Task CallWithoutModelIsPricedByTheServerRateAlone()
    {
        var r = await EstimateAsync("2026-11-02T01:00:00Z", null, "eu-search");
        Assert.Equal(0.002m, r.Cost);
        Assert.Equal("EUR", r.Currency);
    }

    [Fact]
    public async Task CallWithoutModelOrServerRateIsUnpriced()
    {
        var r = await EstimateAsync("2026-11-02T01:00:00Z", null, "no-price");
        Assert.Null(r.Cost);
        Assert.Equal("no model and no CostRate for server no-price", r.Reason);
    }

    [Fact]
    public async Task ModelAndServerRatesInDifferentCurrenciesAreNeverSummed()
    {
        var r = await EstimateAsync("2026-11-02T01:00:00Z", "gpt-4o", "eu-search");
        Assert.Null(r.Cost);
        Assert.Null(r.Currency);
        Assert.Equal("CostRate gpt-4o-2026-11 (USD) and CostRate eu-calls (EUR) have different currencies", r.Reason);
    }

    [Fact]
    public async Task OnlyToolCallsAppear()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync("INSERT INTO usage_events (time, type, agent_id, method) VALUES ('2026-11-02T05:00:00Z', 'agent_request', 'a', 'tools/list')");
        Assert.Equal(0, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events_estimated WHERE agent_id = 'a'"));
    }
}
