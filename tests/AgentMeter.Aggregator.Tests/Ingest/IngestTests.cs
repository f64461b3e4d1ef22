using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

public class IngestTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private sealed class RecordingObserver : IIngestObserver
    {
        public List<IReadOnlyList<UsageEvent>> Batches { get; } = [];
        public void OnCommitted(IReadOnlyList<UsageEvent> events) { lock (Batches) Batches.Add(events); }
    }

    private readonly RecordingObserver _observer = new();
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events, server_health_events, aggregated_days, late_events, late_tool_calls");
        _host = await AggregatorHost.StartAsync(db.ConnectionString,
            new Dictionary<string, string?> { ["Auth:AdminToken"] = "admin", ["Auth:IngestToken"] = "ingest", ["Auth:TenantTokens:acme"] = "acme", ["Ingest:MaxBatchEvents"] = "5" },
            services: s => s.AddSingleton<IIngestObserver>(_observer));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static object ToolCall(string? id = null, string time = "2026-11-02T10:00:00Z", string agent = "agent-a") => new
    {
        type = "tool_call", time, event_id = id, agent_id = agent, tool_name = "search", server_label = "github",
        user_id = "u1", tenant_id = "acme", model = "gpt-4o", status = "success", latency_ms = 12.5, request_bytes = 400, response_bytes = 1200,
    };

    private async Task<HttpResponseMessage> PostAsync(object events, string token = "ingest") =>
        await _host.Client(token).PostAsJsonAsync("/api/v1/events", events);

    private async Task<long> CountAsync(string sql = "SELECT count(*) FROM usage_events")
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>(sql);
    }

    [Fact]
    public async Task EveryColumnIsStoredAsPosted()
    {
        // The rows are encoded by hand in PostgreSQL's binary COPY format (EventCopy): read every column back.
        var response = await PostAsync(new object[]
        {
            new { type = "tool_call", time = "2026-11-02T10:00:00.1234567+01:00", event_id = "ü-1", agent_id = "agent-ñ", tool_name = "search",
                  server_label = "github", user_id = "u\t1", tenant_id = "acme", model = "gpt-4o", status = "success", latency_ms = 12.345,
                  request_bytes = EventBounds.MaxCount, response_bytes = 0, input_tokens = 7, output_tokens = 8, cached_input_tokens = 3 },
            new { type = "agent_request", time = "2026-11-02T10:00:01Z", agent_id = "a", method = "tools/call" },
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var conn = await db.DataSource.OpenConnectionAsync();
        var rows = (await conn.QueryAsync(
            """
            SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t, type, event_id, agent_id, tool_name, server_label, user_id,
                   tenant_id, model, status, latency_ms, request_bytes, response_bytes, input_tokens, output_tokens, cached_input_tokens,
                   method, state, source
            FROM usage_events ORDER BY time
            """)).Select(r => string.Join("|", ((IDictionary<string, object?>)r).Values.Select(v => v?.ToString() ?? "NULL"))).ToList();
        Assert.Equal(
        [
            "2026-11-02 09:00:00.123456|tool_call|ü-1|agent-ñ|search|github|u\t1|acme|gpt-4o|success|12.345|100000000|0|7|8|3|NULL|NULL|ingest",
            "2026-11-02 10:00:01.000000|agent_request|NULL|a|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|tools/call|NULL|ingest",
        ], rows);
    }

    [Fact]
    public async Task EveryEventKindIsStoredIncludingPastDaysAndBreakerHistory()
    {
        var response = await PostAsync(new object[]
        {
            ToolCall("e1"),
            new { type = "tool_call", time = "2020-01-05T23:59:59.123+02:00", agent_id = "old", tool_name = "fetch", server_label = "web",
                  status = "failure", latency_ms = 3000, input_tokens = 10, output_tokens = 20, cached_input_tokens = 4 },
            new { type = "agent_request", time = "2026-11-02T10:00:01Z", agent_id = "agent-a", method = "tools/call" },
            new { type = "circuit_breaker", time = "2026-11-02T10:00:02Z", server_label = "github", state = "open" },
            new { type = "sse_connection", time = "2026-11-02T10:00:03Z", agent_id = "agent-a", state = "opened" },
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(5, body.GetProperty("accepted").GetInt32());
        Assert.Equal(0, body.GetProperty("duplicates").GetInt32());

        await using var conn = await db.DataSource.OpenConnectionAsync();
        var old = await conn.QuerySingleAsync<(DateTime time, string status, long? input, long? cached, long? reqBytes)>(
            "SELECT time, status, input_tokens, cached_input_tokens, request_bytes FROM usage_events_20200105");
        Assert.Equal(new DateTime(2020, 1, 5, 21, 59, 59, 123, DateTimeKind.Utc), old.time.ToUniversalTime());
        Assert.Equal(("failure", 10L, 4L, (long?)null), (old.status, old.input, old.cached, old.reqBytes));
        Assert.Equal(["agent_request", "circuit_breaker", "sse_connection", "tool_call"],
            await conn.QueryAsync<string>("SELECT type FROM usage_events_20261102 ORDER BY type"));
        Assert.Equal("github/open", await conn.ExecuteScalarAsync<string>("SELECT server_label || '/' || state FROM server_health_events"));
        Assert.Equal("ingest", await conn.ExecuteScalarAsync<string>("SELECT DISTINCT source FROM usage_events"));

        var observed = Assert.Single(_observer.Batches);
        Assert.Equal(5, observed.Count);
    }

    [Fact]
    public async Task OneBadEventStoresNothingAndEveryProblemIsNamedByIndexAndField()
    {
        var response = await PostAsync(new object[]
        {
            ToolCall("ok-1"),
            new { type = "tool_call", time = "yesterday", agent_id = "a", tool_name = "t", server_label = "s", status = "maybe", latency_ms = -1,
                  request_bytes = 1, response_bytes = 1.5, input_tokens = 2, cached_input_tokens = 3 },
            ToolCall("ok-2"),
            new { type = "page_view", time = "2026-11-02T10:00:00Z" },
            new { type = "agent_request", time = "2026-11-02T10:00:00Z", agent_id = "a", method = "m", tool_name = "wrong-kind" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("index").GetInt32(), e.GetProperty("field").GetString(), e.GetProperty("problem").GetString()!)).ToList();

        Assert.Contains(errors, e => e.Item1 == 1 && e.Item2 == "time" && e.Item3.Contains("RFC 3339"));
        Assert.Contains(errors, e => e.Item1 == 1 && e.Item2 == "status" && e.Item3.Contains("accepts success, failure"));
        Assert.Contains(errors, e => e.Item1 == 1 && e.Item2 == "latency_ms");
        Assert.Contains(errors, e => e.Item1 == 1 && e.Item2 == "response_bytes" && e.Item3.Contains("whole number"));
        Assert.Contains(errors, e => e.Item1 == 1 && e.Item2 == "cached_input_tokens" && e.Item3.Contains("more than input_tokens"));
        Assert.Contains(errors, e => e.Item1 == 3 && e.Item2 == "type" && e.Item3.Contains("accepts tool_call, agent_request"));
        Assert.Contains(errors, e => e.Item1 == 4 && e.Item2 == "tool_name" && e.Item3.Contains("not a field of agent_request"));
        Assert.DoesNotContain(errors, e => e.Item1 is 0 or 2);
        Assert.Equal(0, await CountAsync());
        Assert.Empty(_observer.Batches);
    }

    [Fact]
    public async Task MissingFieldsAndFutureTimesAreRefused()
    {
        var future = DateTimeOffset.UtcNow.AddHours(2).ToString("yyyy-MM-ddTHH:mm:ssZ");
        var response = await PostAsync(new object[]
        {
            new { type = "tool_call", time = future, agent_id = "a", tool_name = "t", server_label = "s", status = "success", latency_ms = 1 },
            new { time = "2026-11-02T10:00:00Z" },
            new { type = "circuit_breaker", time = "2026-11-02T10:00:00Z", state = "broken" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"index\":0,\"field\":\"time\"", text);
        Assert.Contains("ahead of the server clock", text);
        Assert.Contains("\"index\":0,\"field\":\"request_bytes\",\"problem\":\"is required unless input_tokens is given\"", text);
        Assert.Contains("\"index\":1,\"field\":\"type\",\"problem\":\"is required\"", text);
        Assert.Contains("\"index\":2,\"field\":\"server_label\",\"problem\":\"is required\"", text);
        Assert.Contains("\"index\":2,\"field\":\"state\"", text);
        Assert.Equal(0, await CountAsync());
    }

    [Fact]
    public async Task NdjsonIsAcceptedAndABadLineIsNamedByItsIndex()
    {
        var lines = string.Join("\n", JsonSerializer.Serialize(ToolCall("n1")), "", JsonSerializer.Serialize(ToolCall("n2")) + "\r");
        using var ok = await _host.Client("ingest").PostAsync("/api/v1/events", new StringContent(lines, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(2, (await ok.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32());

        var bad = JsonSerializer.Serialize(ToolCall("n3")) + "\n{\"type\": \"tool_call\",\n";
        using var refused = await _host.Client("ingest").PostAsync("/api/v1/events", new StringContent(bad, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("\"index\":1,\"field\":\"\",\"problem\":\"line is not valid JSON", await refused.Content.ReadAsStringAsync());
        Assert.Equal(2, await CountAsync());
    }

    [Fact]
    public async Task BrokenJsonAndNonArraysAreRefusedWithWhatToSend()
    {
        using var broken = await _host.Client("ingest").PostAsync("/api/v1/events", new StringContent("[{\"type\":", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("\"field\":\"body\",\"problem\":\"is not valid JSON", await broken.Content.ReadAsStringAsync());
        using var single = await PostAsync(ToolCall("x"));
        Assert.Contains("must be a JSON array of events", await single.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ReSentEventsAreStoredOnceWithinABatchAndAcrossBatches()
    {
        var first = await PostAsync(new[] { ToolCall("d1"), ToolCall("d1"), ToolCall("d2"), ToolCall(null), ToolCall(null) });
        Assert.Equal((4, 1), await CountsAsync(first));
        // The same instants written with another offset are the same events.
        var resent = await PostAsync(new[] { ToolCall("d1"), ToolCall("d2", time: "2026-11-02T11:00:00.0000001+01:00"), ToolCall("d4") });
        Assert.Equal(HttpStatusCode.OK, resent.StatusCode);
        Assert.Equal((1, 2), await CountsAsync(resent));
        // An id is the event's id: the same id at another time is another event (the contract: a re-sent event is stored once).
        var otherTime = await PostAsync(new[] { ToolCall("d1", time: "2026-10-01T00:00:00Z"), ToolCall("d3", time: "2026-10-01T00:00:00Z") });
        Assert.Equal((2, 0), await CountsAsync(otherTime));
        Assert.Equal(7, await CountAsync());
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM usage_events WHERE event_id = 'd1'"));
        Assert.Equal([4, 1, 2], _observer.Batches.Select(b => b.Count));
        Assert.Equal("d4", Assert.Single(_observer.Batches[1]).EventId);
    }

    [Fact]
    public async Task TheSameBatchPostedConcurrentlyIsStoredOnce()
    {
        // The host allows 5 events per batch; 8 clients race to store the same 5 events.
        var batch = Enumerable.Range(0, 5).Select(i => ToolCall($"c{i}")).ToArray();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostAsync(batch)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var counts = await Task.WhenAll(responses.Select(CountsAsync));
        Assert.Equal(5, counts.Sum(c => c.Item1));
        Assert.Equal(35, counts.Sum(c => c.Item2));
        Assert.Equal(5, await CountAsync());
        Assert.Equal(5, _observer.Batches.Sum(b => b.Count));
    }

    private static async Task<(int, int)> CountsAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("accepted").GetInt32(), body.GetProperty("duplicates").GetInt32());
    }

    [Fact]
    public async Task OversizedBatchesGet413NamingTheLimit()
    {
        var response = await PostAsync(Enumerable.Range(0, 6).Select(i => ToolCall($"big-{i}")).ToArray());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("at most 5 per request (Ingest__MaxBatchEvents)", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, await CountAsync());
    }

    [Fact]
    public async Task OversizedBodiesGet413NamingTheLimit()
    {
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Ingest:MaxBodyBytes"] = "1000" });
        var body = "[" + string.Join(",", Enumerable.Range(0, 4).Select(i => JsonSerializer.Serialize(ToolCall($"b{i}")))) + "]";
        using var sized = await host.Client().PostAsync("/api/v1/events", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, sized.StatusCode);
        Assert.Contains("larger than 1000 bytes (Ingest__MaxBodyBytes)", await sized.Content.ReadAsStringAsync());
        // Chunked, without Content-Length: the limit still holds while reading.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        chunked.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/events") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using var streamed = await host.Client().SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, streamed.StatusCode);
        Assert.Equal(0, await CountAsync());
    }

    [Fact]
    public async Task OnlyTheIngestAndAdminTokensMayPost()
    {
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(new[] { ToolCall("t1") }, "ingest")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(new[] { ToolCall("t2") }, "admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(new[] { ToolCall("t3") }, "acme")).StatusCode);
        using var anonymous = await _host.Client().PostAsJsonAsync("/api/v1/events", new[] { ToolCall("t4") });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(2, await CountAsync());
    }

    [Fact]
    public async Task ToolCallsForAnAggregatedDayAreKeptAndCountedAsLate()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("INSERT INTO aggregated_days (date, event_count, stats_rows) VALUES ('2026-10-15', 0, 0)");
        await PostAsync(new[] { ToolCall("l1", "2026-10-15T08:00:00Z"), ToolCall("l2", "2026-10-15T09:00:00Z"), ToolCall("l3", "2026-10-16T09:00:00Z") });
        await PostAsync(new[] { ToolCall("l4", "2026-10-15T10:00:00Z"), ToolCall("l1", "2026-10-15T08:00:00Z") });
        Assert.Equal(3, await CountAsync("SELECT event_count FROM late_events WHERE date = '2026-10-15'"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM late_events"));
        Assert.Equal(4, await CountAsync());
        // Queued for the aggregation pass to append to their day (LateEventsTests), or appended already by this host's pass.
        Assert.Equal(3, await CountAsync(
            "SELECT (SELECT count(*) FROM late_tool_calls WHERE time < '2026-10-16') + (SELECT coalesce(sum(applied_count), 0)::bigint FROM late_events)"));
    }
}
