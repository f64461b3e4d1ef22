using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// Poison numbers: values a day's sums cannot hold (a request_bytes of Int64.MaxValue overflowed the
/// aggregation's bigint arithmetic, two latency_ms of 1e308 its double sum) are refused at the door
/// with a 400 naming the event and field; the bounds themselves are accepted and stored.
/// </summary>
public class NumericBoundsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events");
        _host = await AggregatorHost.StartAsync(db.ConnectionString);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static readonly string Time = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("yyyy-MM-ddTHH:mm:ssZ");

    /// <summary>A tool call with the given numeric fields as raw JSON (so values beyond double and Int64 go out as written).</summary>
    private static string ToolCall(string numbers) =>
        $$"""{"type":"tool_call","time":"{{Time}}","agent_id":"a","tool_name":"t","server_label":"s","status":"success",{{numbers}}}""";

    private async Task<(HttpStatusCode Status, List<string> Errors)> PostAsync(params string[] events)
    {
        var content = new StringContent("[" + string.Join(",", events) + "]", Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _host.Client().PostAsync("/api/v1/events", content);
        var errors = new List<string>();
        if (response.StatusCode == HttpStatusCode.BadRequest)
            foreach (var e in (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray())
                errors.Add($"{e.GetProperty("index")}|{e.GetProperty("field").GetString()}|{e.GetProperty("problem").GetString()}");
        return (response.StatusCode, errors);
    }

    private async Task<long> StoredAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events");
    }

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
        await using var conn = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(EventBounds.MaxCount, await conn.ExecuteScalarAsync<long>($"SELECT max({field}) FROM usage_events"));
    }

    [Fact]
    public async Task LatencyIsBoundedToOneDayAndTheBoundItselfIsStored()
    {
        var (tooLong, errors) = await PostAsync(ToolCall("\"latency_ms\":86400000.5,\"request_bytes\":1,\"response_bytes\":1"));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.Equal(["0|latency_ms|86400000.5 is not a number of milliseconds from 0 to 86400000 (24 hours)"], errors);

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(ToolCall("\"latency_ms\":86400000,\"request_bytes\":1,\"response_bytes\":1"))).Status);
        await using var conn = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(86_400_000d, await conn.ExecuteScalarAsync<double>("SELECT latency_ms FROM usage_events"));
    }
}
