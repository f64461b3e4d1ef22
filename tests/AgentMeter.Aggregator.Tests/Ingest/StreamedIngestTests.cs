using System.Net;
using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// A batch handed to a free writer while it is still read (StreamedBatch): its COPY is under way before the batch
/// is complete, nothing is visible before the commit, an abandoned batch stores nothing, and what the streamed
/// COPY cannot take (a second day, a day without its partition, a re-sent event) is written whole once complete. Over HTTP, a large body takes
/// that path, and a bad event at its end still refuses all of it.
/// </summary>
public class StreamedIngestTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private static readonly DateTimeOffset Day = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events, late_events, late_tool_calls, aggregated_days");
        _host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:AdminToken"] = "admin", ["Auth:IngestToken"] = "ingest", ["Auth:TenantIngestTokens:acme"] = "acme-gateway",
        });
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private IngestService Ingest => _host.Services.GetRequiredService<IngestService>();

    private static UsageEvent[] Batch(string agent, int count, int first = 0, DateTimeOffset? day = null) =>
        Enumerable.Range(first, count).Select(i => new UsageEvent
        {
            Type = EventTypes.ToolCall, Time = (day ?? Day).AddSeconds(i), EventId = $"{agent}-{i}", AgentId = agent, ToolName = "search",
            ServerLabel = "github", Status = "success", LatencyMs = 10, RequestBytes = 100, ResponseBytes = 200,
        }).ToArray();

    private async Task<long> CountAsync(string sql = "SELECT count(*) FROM usage_events")
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>(sql);
    }

    /// <summary>Waits until a session is inside a COPY into usage_events (it waits for the client's next rows).</summary>
    private async Task WaitForOpenCopyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await CountAsync("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'COPY usage_events%'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no writer began a COPY for the streamed batch");
            await Task.Delay(20);
        }
    }

    private StreamedBatch StreamOrFail(string? tenant = null) =>
        Ingest.TryStream("ingest", tenant) ?? throw new Xunit.Sdk.XunitException("no writer was free to take a streamed batch");

    [Fact]
    public async Task TheCopyBeginsWithTheFirstChunkAndTheBatchIsVisibleOnlyOnceComplete()
    {
        var events = Batch("a", 350);
        var stream = StreamOrFail();
        stream.Offer(events[..199]);
        stream.Offer(events[..200]);
        await WaitForOpenCopyAsync();
        Assert.Equal(0, await CountAsync());
        stream.Offer(events[..350]);
        Assert.Equal(0, await CountAsync());

        var stored = Assert.IsType<IngestOutcome.Stored>(await Ingest.SubmitAsync(stream, events, default));
        Assert.Equal(350, stored.Result.Stored.Count);
        Assert.Equal(0, stored.Result.Duplicates);
        Assert.Equal(350, await CountAsync("SELECT count(DISTINCT event_id) FROM usage_events WHERE agent_id = 'a'"));
    }

    [Fact]
    public async Task AnAbandonedBatchStoresNothingAndTheWriterGoesOn()
    {
        var stream = StreamOrFail();
        stream.Offer(Batch("gone", 200));
        await WaitForOpenCopyAsync();
        stream.Abandon();

        var next = Batch("next", 10);
        var stored = Assert.IsType<IngestOutcome.Stored>(await Ingest.SubmitAsync(next, "ingest", null, default));
        Assert.Equal(10, stored.Result.Stored.Count);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM usage_events WHERE agent_id = 'gone'"));
        Assert.Equal(10, await CountAsync());
    }

    [Fact]
    public async Task ABatchThatReachesASecondDayIsWrittenWholeOnceComplete()
    {
        var events = Batch("d", 200).Concat(Batch("d", 50, first: 200, day: Day.AddDays(1))).ToArray();
        var stream = StreamOrFail();
        stream.Offer(events[..200]);

        var stored = Assert.IsType<IngestOutcome.Stored>(await Ingest.SubmitAsync(stream, events, default));
        Assert.Equal(250, stored.Result.Stored.Count);
        Assert.Equal(50, await CountAsync("SELECT count(*) FROM usage_events WHERE time >= '2026-11-03'"));
    }

    [Fact]
    public async Task ADayWithoutItsPartitionIsMadeByTheRequestAndTheBatchWrittenWhole()
    {
        var day = new DateTimeOffset(2026, 10, 20, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM pg_class WHERE relname = 'usage_events_20261020'"));
        var events = Batch("p", 250, day: day);
        var stream = StreamOrFail();
        stream.Offer(events);

        var stored = Assert.IsType<IngestOutcome.Stored>(await Ingest.SubmitAsync(stream, events, default));
        Assert.Equal(250, stored.Result.Stored.Count);
        Assert.Equal(250, await CountAsync("SELECT count(*) FROM usage_events_20261020"));
    }

    [Fact]
    public async Task ReSentEventsInAStreamedBatchAreStoredOnceAndCountedAsDuplicates()
    {
        Assert.IsType<IngestOutcome.Stored>(await Ingest.SubmitAsync(Batch("r", 5), "ingest", null, default));
        // Events 0-4 were stored before; event 7 comes twice, in two chunks.
        var events = Batch("r", 200).Concat(Batch("r", 1, first: 7)).ToArray();
        var stream = StreamOrFail();
        stream.Offer(events[..200]);

        var stored = Assert.IsType<IngestOutcome.Stored>(await Ingest.SubmitAsync(stream, events, default));
        Assert.Equal(195, stored.Result.Stored.Count);
        Assert.Equal(6, stored.Result.Duplicates);
        Assert.Equal(200, await CountAsync("SELECT count(*) FROM usage_events WHERE agent_id = 'r'"));
    }

    private static string Json(IEnumerable<UsageEvent> events, bool ndjson)
    {
        var objects = events.Select(e => new Dictionary<string, object?>
        {
            ["type"] = e.Type, ["time"] = e.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ"), ["event_id"] = e.EventId,
            ["agent_id"] = e.AgentId, ["tool_name"] = e.ToolName, ["server_label"] = e.ServerLabel, ["status"] = e.Status,
            ["latency_ms"] = e.LatencyMs, ["request_bytes"] = e.RequestBytes, ["response_bytes"] = e.ResponseBytes, ["tenant_id"] = e.TenantId,
        }.Where(p => p.Value is not null).ToDictionary());
        return ndjson ? string.Join('\n', objects.Select(o => JsonSerializer.Serialize(o))) : JsonSerializer.Serialize(objects);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string body, bool ndjson, string token = "ingest")
    {
        // Large enough to be streamed (the endpoint streams bodies from 64 KiB).
        Assert.True(Encoding.UTF8.GetByteCount(body) >= 64 * 1024);
        using var response = await _host.Client(token).PostAsync("/api/v1/events",
            new StringContent(body, Encoding.UTF8, ndjson ? "application/x-ndjson" : "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ALargeBodyWithABadLastEventIsRefusedWholeAndTheSameBodyFixedIsStored(bool ndjson)
    {
        var events = Batch(ndjson ? "nd" : "js", 1000);
        var (status, body) = await PostAsync(Json([.. events[..999], events[999] with { Status = "maybe" }], ndjson), ndjson);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Assert.Single(body.GetProperty("errors").EnumerateArray());
        Assert.Equal(999, error.GetProperty("index").GetInt32());
        Assert.Equal("status", error.GetProperty("field").GetString());
        Assert.Equal(0, await CountAsync());

        var (okStatus, ok) = await PostAsync(Json(events, ndjson), ndjson);
        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal(1000, ok.GetProperty("accepted").GetInt32());
        Assert.Equal(1000, await CountAsync());
    }

    [Fact]
    public async Task ATenantTokensLargeBodyGetsItsTenantAndAnotherTenantRefusesItWhole()
    {
        var recent = DateTimeOffset.UtcNow.AddHours(-1);
        var events = Batch("t", 1000, day: recent);
        var (status, _) = await PostAsync(Json(events, ndjson: false), ndjson: false, token: "acme-gateway");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1000, await CountAsync("SELECT count(*) FROM usage_events WHERE tenant_id = 'acme'"));

        // One event of another tenant at the end: refused whole, though the first chunks were already copied.
        var other = Batch("u", 1000, day: recent).Select((e, i) => e with { TenantId = i < 999 ? "acme" : "globex" });
        var (refused, errors) = await PostAsync(Json(other, ndjson: false), ndjson: false, token: "acme-gateway");
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Equal("tenant_id", Assert.Single(errors.GetProperty("errors").EnumerateArray()).GetProperty("field").GetString());
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM usage_events WHERE agent_id = 'u'"));
    }
}
