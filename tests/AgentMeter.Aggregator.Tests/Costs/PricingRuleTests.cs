using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMeter.Aggregator.Tests.Costs;

/// <summary>
/// One pricing rule: the real-time estimate of the cost metrics (RealtimeCostEstimator, C#) and the
/// SQL of Database/Definitions/40_pricing.sql (usage_events_estimated through agentmeter_cost) give
/// the same tokens, cost and currency for every event, from the same CostRate resources (persisted
/// by the real CostRateSync).
/// </summary>
public class PricingRuleTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task TheEstimatorAndTheSqlAgreeOnEveryModelAndTokenCase()
    {
        using var folder = new TempFolder();
        folder.Write("rates.yaml", """
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: m-old}
            spec: {model: m, inputPerMillionTokens: "5", outputPerMillionTokens: "15", effectiveFrom: "2026-01-01"}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: m-new}
            spec:
              model: m
              inputPerMillionTokens: "2.5"
              outputPerMillionTokens: "10"
              cachedInputPerMillionTokens: "1.25"
              effectiveFrom: "2026-11-02"
              tokenEstimation: {bytesPerToken: 3, maxOutputTokens: 100}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: output-only}
            spec: {model: o, outputPerMillionTokens: "0.123456789", effectiveFrom: "2026-01-01"}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: input-only}
            spec: {model: i, inputPerMillionTokens: "3.3333333333", cachedInputPerMillionTokens: "0", effectiveFrom: "2026-01-01", tokenEstimation: {bytesPerToken: 7}}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: euro-model}
            spec: {model: e, currency: EUR, inputPerMillionTokens: "1", outputPerMillionTokens: "2", effectiveFrom: "2026-01-01"}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: gh}
            spec: {serverLabel: github, toolCallPrice: "0.001", effectiveFrom: "2026-01-01"}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: eu}
            spec: {serverLabel: eu-search, currency: EUR, toolCallPrice: "0.002", effectiveFrom: "2026-01-01"}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRate
            metadata: {name: from-the-2nd}
            spec: {serverLabel: late, toolCallPrice: "0.0000005", effectiveFrom: "2026-11-02"}
            """);
        var store = new ResourceStore(new ResourceOptions { Paths = [folder.Path] }, NullLogger<ResourceStore>.Instance, TimeProvider.System);
        store.Reload();
        Assert.Empty(store.Current.Problems);
        await new CostRateSync(db.DataSource, NullLogger<CostRateSync>.Instance).SyncAsync(store.Current, CancellationToken.None);
        var estimator = new RealtimeCostEstimator(store);

        var events = new List<UsageEvent>();
        // The last instant before the rates of the 2nd, the first after (a change at UTC midnight), and the middle of the 2nd.
        foreach (var time in new[] { "2026-11-01T23:59:59.999Z", "2026-11-02T00:00:00Z", "2026-11-02T13:00:00Z" })
        foreach (var type in new[] { EventTypes.ToolCall, EventTypes.ModelCall })
        foreach (var model in new string?[] { "m", "o", "i", "e", null, "", "unknown" })
        foreach (var server in new string?[] { "github", "eu-search", "late", "plain", null })
        foreach (var (req, resp, inTok, outTok, cached) in new (long?, long?, long?, long?, long?)[]
                 {
                     (1001, 2002, null, null, null),      // both estimated from bytes
                     (10, 100_000, null, null, null),     // output estimate over maxOutputTokens
                     (0, 0, 500, 700, 200),               // reported, with cached
                     (null, null, null, null, null),      // nothing known
                     (7, null, null, 300, null),          // reported output over maxOutputTokens: not capped
                     (null, 5, 100, null, 150),           // more cached than input
                     (3, 3, null, null, 2),               // cached with an estimated input
                     (999_999_937, 1, 1, 999_999_929, 1), // large counts: the last decimals of the per-token prices
                 })
            events.Add(new UsageEvent
            {
                Type = type, Time = DateTimeOffset.Parse(time), EventId = $"e{events.Count}", Model = model, ServerLabel = server,
                RequestBytes = req, ResponseBytes = resp, InputTokens = inTok, OutputTokens = outTok, CachedInputTokens = cached,
            });

        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync("SELECT agentmeter_ensure_event_partition(d::date) FROM unnest(ARRAY['2026-11-01', '2026-11-02']) d");
        await conn.ExecuteAsync(
            """
            INSERT INTO usage_events (time, type, event_id, server_label, model, request_bytes, response_bytes, input_tokens, output_tokens, cached_input_tokens)
            VALUES (@Time, @Type, @EventId, @ServerLabel, @Model, @RequestBytes, @ResponseBytes, @InputTokens, @OutputTokens, @CachedInputTokens)
            """, events.Select(e => new
            {
                Time = e.Time.UtcDateTime, e.Type, e.EventId, e.ServerLabel, e.Model, e.RequestBytes, e.ResponseBytes, e.InputTokens,
                e.OutputTokens, e.CachedInputTokens,
            }));
        var sql = (await conn.QueryAsync<(string Id, long In, long Out, decimal? Cost, string? Currency)>(
            "SELECT event_id, estimated_input_tokens, estimated_output_tokens, estimated_cost, currency FROM usage_events_estimated"))
            .ToDictionary(r => r.Id);

        Assert.Equal(events.Count, sql.Count);
        foreach (var e in events)
        {
            var expected = sql[e.EventId!];
            var actual = estimator.Estimate(e);
            Assert.True((expected.In, expected.Out, expected.Cost, expected.Currency) == (actual.InputTokens, actual.OutputTokens, actual.Cost, actual.Currency),
                $"{e.Time:O} {e.Type} model '{e.Model}' server '{e.ServerLabel}' bytes {e.RequestBytes}/{e.ResponseBytes} tokens " +
                $"{e.InputTokens}/{e.OutputTokens}/{e.CachedInputTokens}: SQL {expected}, estimator {actual}");
        }
        // Every case occurred: unpriced for each reason, both currencies, the rate change, a capped output.
        Assert.Contains(sql.Values, v => v.Cost is null);
        Assert.Contains(sql.Values, v => v.Currency == "EUR");
        Assert.Contains(sql.Values, v => v.Currency == "USD");
        Assert.Contains(sql.Values, v => v is { In: 4, Out: 100, Cost: not null }); // m-new's bytesPerToken 3 and maxOutputTokens
        Assert.Contains(sql.Values, v => v.Cost is { } c && decimal.Round(c, 10) != c); // more decimals than the stored day rows keep
    }
}
