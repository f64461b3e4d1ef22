using System.Net;
using System.Text;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// Poison numbers: values a day's sums cannot hold (a request_bytes of Int64.MaxValue overflowed the
/// aggregation's bigint arithmetic, two latency_ms of 1e308 its double sum) are refused at the door
/// with a 400 naming the event and field; the bounds themselves are accepted and stored.
/// </summary>
public class NumericBoundsTests(DatabaseFixture db) : IngestHostTests(db)
{
    private static readonly string Time = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("yyyy-MM-ddTHH:mm:ssZ");

    /// <summary>A tool call with the given numeric fields as raw JSON (so values beyond double and Int64 go out as written).</summary>
    private static string ToolCall(string numbers) =>
        $$"""{"type":"tool_call","time":"{{Time}}","agent_id":"a","tool_name":"t","server_label":"s","status":"success",{{numbers}}}""";

    private Task<(HttpStatusCode Status, List<string> Errors)> PostAsync(params string[] events) =>
        IngestClient.PostAsync(Host.Client(), new StringContent("[" + string.Join(",", events) + "]", Encoding.UTF8, "application/json"));

    private Task<long> StoredAsync() => ScalarAsync<long>("SELECT count(*) FROM usage_events");

    [Fact]
    public async Task TheValuesThatBrokeAggregationAreRefusedNamingIndexAndField()
    {
        var (status, errors) = await PostAsync(
            ToolCall("\"latency_ms\":1,\"request_bytes\":1,\"response_bytes\":1"),
            ToolCall("\"latency_ms\":1,\"request_bytes\":9223372036854775807,\"response_bytes\":1"),
            ToolCall("\"latency_ms\":1e308,\"request_bytes\":1,\"response_bytes\":1"),
            ToolCall("\"latency_ms\":1e308,\"request_bytes\":1,\"response_bytes\":1"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
        [
            "1|request_bytes|9223372036854775807 is not a whole number from 0 to 100000000",
            "2|latency_ms|1e308 is not a number of milliseconds from 0 to 86400000 (24 hours)",
            "3|latency_ms|1e308 is not a number of milliseconds from 0 to 86400000 (24 hours)",
        ], errors);
        Assert.Equal(0, await StoredAsync());
    }

    [Theory]
    [InlineData("request_bytes")]
    [InlineData("response_bytes")]
    [InlineData("input_tokens")]
    [InlineData("output_tokens")]
    [InlineData("cached_input_tokens")]
    public async Task EveryCountIsBoundedAndTheBoundItselfIsStored(string field)
    {
        // Every count present, so each may be set alone; cached tokens are part of the input tokens.
        string Numbers(long value) => string.Join(",", new Dictionary<string, long>
        {
            ["latency_ms"] = 1, ["request_bytes"] = 1, ["response_bytes"] = 1, ["output_tokens"] = 1,
            ["input_tokens"] = field == "cached_input_tokens" ? EventBounds.MaxCount : 1, ["cached_input_tokens"] = 0, [field] = value,
        }.Select(kv => $"\"{kv.Key}\":{kv.Value}"));

        var (tooBig, errors) = await PostAsync(ToolCall(Numbers(EventBounds.MaxCount + 1)));
        Assert.Equal(HttpStatusCode.BadRequest, tooBig);
        Assert.Equal([$"0|{field}|100000001 is not a whole number from 0 to 100000000"], errors);

        var (atBound, _) = await PostAsync(ToolCall(Numbers(EventBounds.MaxCount)));
        Assert.Equal(HttpStatusCode.OK, atBound);
        Assert.Equal(EventBounds.MaxCount, await ScalarAsync<long>($"SELECT max({field}) FROM usage_events"));
    }

    [Fact]
    public async Task LatencyIsBoundedToOneDayAndTheBoundItselfIsStored()
    {
        var (tooLong, errors) = await PostAsync(ToolCall("\"latency_ms\":86400000.5,\"request_bytes\":1,\"response_bytes\":1"));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.Equal(["0|latency_ms|86400000.5 is not a number of milliseconds from 0 to 86400000 (24 hours)"], errors);

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(ToolCall("\"latency_ms\":86400000,\"request_bytes\":1,\"response_bytes\":1"))).Status);
        Assert.Equal(86_400_000d, await ScalarAsync<double>("SELECT latency_ms FROM usage_events"));
    }
}
