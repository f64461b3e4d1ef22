using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// Text PostgreSQL cannot store (U+0000) and bytes that are not UTF-8 are refused with a 400 naming
/// the event and field, never passed on to the database (a 503) or thrown (a 500).
/// </summary>
public class IngestTextEncodingTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private AggregatorHost _host = null!;

    public async Task InitializeAsync()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events, server_health_events");
        _host = await AggregatorHost.StartAsync(db.ConnectionString);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private const string Good = """{"type":"agent_request","time":"2026-11-02T10:00:00Z","agent_id":"a","method":"m"}""";

    private async Task<(HttpStatusCode Status, List<(int? Index, string Field, string Problem)> Errors)> PostAsync(byte[] body, string contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await _host.Client().PostAsync("/api/v1/events", content);
        var errors = new List<(int?, string, string)>();
        if (response.StatusCode == HttpStatusCode.BadRequest)
            foreach (var e in (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray())
                errors.Add((e.GetProperty("index").ValueKind == JsonValueKind.Null ? null : e.GetProperty("index").GetInt32(),
                    e.GetProperty("field").GetString()!, e.GetProperty("problem").GetString()!));
        return (response.StatusCode, errors);
    }

    private async Task<long> StoredAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events");
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>The UTF-8 of a template in which <c>{XX}</c> is the raw byte with hex value XX.</summary>
    private static byte[] WithBytes(string template) =>
    [
        .. System.Text.RegularExpressions.Regex.Split(template, @"(\{[0-9A-F]{2}\})").SelectMany(part =>
            part is ['{', _, _, '}'] ? [Convert.ToByte(part[1..3], 16)] : Utf8(part)),
    ];

    [Fact]
    public async Task ANulCharacterInATextValueOrEventIdIsRefusedNamingTheField()
    {
        var (status, errors) = await PostAsync(Utf8($$"""
            [{{Good}},
             {"type":"agent_request","time":"2026-11-02T10:00:00Z","agent_id":"a\u0000b","method":"m"},
             {"type":"agent_request","time":"2026-11-02T10:00:00Z","agent_id":"a","method":"m","event_id":"\u0000"},
             {"type":"tool_call","time":"2026-11-02T10:00:00Z","agent_id":"a","tool_name":"t","server_label":"s\u0000","status":"success",
              "latency_ms":1,"input_tokens":1,"output_tokens":1,"user_id":"u","tenant_id":"t\u0000","model":"m"}]
            """));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        const string Nul = "must not contain the character U+0000 (PostgreSQL text cannot store it)";
        Assert.Equal([(1, "agent_id", Nul), (2, "event_id", Nul), (3, "server_label", Nul), (3, "tenant_id", Nul)], errors);
        Assert.Equal(0, await StoredAsync());

        var (ndStatus, ndErrors) = await PostAsync(Utf8(Good + "\n" + """{"type":"sse_connection","time":"2026-11-02T10:00:00Z","agent_id":"\u0000","state":"opened"}"""),
            "application/x-ndjson");
        Assert.Equal(HttpStatusCode.BadRequest, ndStatus);
        Assert.Equal([(1, "agent_id", Nul)], ndErrors);
        Assert.Equal(0, await StoredAsync());
    }

    private const string NotUtf8 = "is not valid UTF-8 text (or escapes half a surrogate pair)";

    [Fact]
    public async Task BytesThatAreNotUtf8AreRefusedNamingTheEventAndField()
    {
        // A two-byte sequence broken off.
        var (status, errors) = await PostAsync(WithBytes("[" + Good + """,{"type":"agent_request","time":"2026-11-02T10:00:00Z","agent_id":"x{C3}(y","method":"m"}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal([(1, "agent_id", NotUtf8)], errors);

        // In the event id, a value shown back in the problem, the time, a field name and an unpaired surrogate escape.
        (status, errors) = await PostAsync(WithBytes("""
            [{"type":"agent_request","time":"2026-11-02T10:00:00Z","agent_id":"a","method":"m","event_id":"{FF}"},
             {"type":"circuit_breaker","time":"2026-11-02T10:00:00Z","server_label":"s","state":"op{FE}en"},
             {"type":"agent_request","agent_id":"a","method":"m","time":"2026{E2}{82}-11-02T10:00:00Z"},
             {"type":"agent_request","time":"2026-11-02T10:00:00Z","agent_id":"a","method":"m","x{80}":1},
             {"type":"agent_request","time":"2026-11-02T10:00:00Z","agent_id":"\ud800","method":"m"}]
            """));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(5, errors.Count);
        Assert.Equal((0, "event_id", NotUtf8), errors[0]);
        Assert.Equal((1, "state"), (errors[1].Index, errors[1].Field));
        Assert.StartsWith("\"op\uFFFDen\" is not accepted", errors[1].Problem);
        Assert.Equal((2, "time", NotUtf8), errors[2]);
        Assert.Equal((3, "x\uFFFD", NotUtf8), errors[3]);
        Assert.Equal((4, "agent_id", NotUtf8), errors[4]);
        Assert.Equal(0, await StoredAsync());

        var (ndStatus, ndErrors) = await PostAsync(WithBytes(Good + "\n" + """{"type":"agent_request","time":"2026-11-02T10:00:00Z","agent_id":"a","method":"{F0}{9F}"}""" + "\n"),
            "application/x-ndjson");
        Assert.Equal(HttpStatusCode.BadRequest, ndStatus);
        Assert.Equal([(1, "method", NotUtf8)], ndErrors);
        Assert.Equal(0, await StoredAsync());
    }
}
