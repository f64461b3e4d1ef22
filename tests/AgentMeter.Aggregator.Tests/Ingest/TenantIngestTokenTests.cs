using System.Net;
using AgentMeter.Aggregator.Ingest;
using AgentMeter.Aggregator.Tests.Infrastructure;
using AgentMeter.Entities.Domain;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Ingest;

/// <summary>
/// A tenant's ingest token (a gateway credential of that tenant) writes events of its tenant only:
/// naming another tenant is a 400 naming tenant_id, an event without one gets its tenant, events
/// that carry no tenant are refused, and it reads nothing. The pin travels with the batch into
/// IngestService, so every ingest endpoint applies it.
/// </summary>
public class TenantIngestTokenTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private readonly TempFolder _secret = new();
    private AggregatorHost _host = null!;
    private static readonly string Time = DateTime.UtcNow.AddMinutes(-1).ToString("yyyy-MM-ddTHH:mm:ssZ");

    public async Task InitializeAsync()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events");
        // A mounted Secret: one file per tenant, as Auth__TenantTokensPath reads them.
        _secret.Write("globex", "globex-gateway\n");
        _secret.Write(".hidden", "not-a-token");
        _host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:AdminToken"] = "admin", ["Auth:IngestToken"] = "shared-ingest",
            ["Auth:TenantIngestTokens:acme"] = "acme-gateway", ["Auth:TenantIngestTokensPath"] = _secret.Path,
            ["Auth:TenantTokens:acme"] = "acme-reader",
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _secret.Dispose();
    }

    private static object ToolCall(string id, string? tenant) => new
    {
        type = "tool_call", time = Time, event_id = id, agent_id = "a", tool_name = "t", server_label = "s", tenant_id = tenant,
        status = "success", latency_ms = 5, request_bytes = 10, response_bytes = 20,
    };

    private Task<(HttpStatusCode Status, List<string> Errors)> PostAsync(string token, params object[] events) =>
        IngestClient.PostAsync(_host.Client(token), events);

    private async Task<List<string>> StoredAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return [.. await conn.QueryAsync<string>("SELECT event_id || '/' || coalesce(tenant_id, '-') FROM usage_events ORDER BY event_id")];
    }

    [Fact]
    public async Task ATenantsIngestTokenWritesItsOwnTenantAndFillsItInWhereMissing()
    {
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("acme-gateway", ToolCall("a1", "acme"), ToolCall("a2", null))).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("globex-gateway", ToolCall("g1", null))).Status);
        Assert.Equal(["a1/acme", "a2/acme", "g1/globex"], await StoredAsync());
    }

    [Fact]
    public async Task AnEventOfAnotherTenantIsRefusedNamingTenantIdAndNothingOfTheBatchIsStored()
    {
        var (status, errors) = await PostAsync("acme-gateway", ToolCall("a1", "acme"), ToolCall("b1", "globex"), ToolCall("a2", null));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(["1|tenant_id|\"globex\" is not the tenant of this token: it writes tenant \"acme\" only"], errors);
        var (folderStatus, folderErrors) = await PostAsync("globex-gateway", ToolCall("b2", "acme"));
        Assert.Equal(HttpStatusCode.BadRequest, folderStatus);
        Assert.Equal(["0|tenant_id|\"acme\" is not the tenant of this token: it writes tenant \"globex\" only"], folderErrors);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task EventsThatCarryNoTenantAreRefusedForATenantsToken()
    {
        // A circuit breaker or SSE event is no tenant's: from one tenant's gateway it would move every tenant's health and gauges.
        var (status, errors) = await PostAsync("acme-gateway",
            new { type = "circuit_breaker", time = Time, server_label = "github", state = "open" },
            new { type = "agent_request", time = Time, agent_id = "a", method = "m" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
        [
            "0|type|circuit_breaker carries no tenant_id: a tenant's ingest token posts only events of its tenant (tool_call, model_call)",
            "1|type|agent_request carries no tenant_id: a tenant's ingest token posts only events of its tenant (tool_call, model_call)",
        ], errors);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task ATenantsIngestTokenMayOnlyIngestAndTheSharedTokensKeepWorking()
    {
        using (var read = await _host.Client("acme-gateway").GetAsync("/api/v1/analytics/usage?period=7d"))
            Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
        using (var alerts = await _host.Client("acme-gateway").GetAsync("/api/v1/alerts"))
            Assert.Equal(HttpStatusCode.Forbidden, alerts.StatusCode);
        // The tenant's read token still reads, and may not post.
        using (var read = await _host.Client("acme-reader").GetAsync("/api/v1/analytics/usage?period=7d"))
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync("acme-reader", ToolCall("r1", "acme"))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync("not-a-token", ToolCall("h1", "acme"))).Status);
        // The shared ingest token and the admin token post for any tenant, as before.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("shared-ingest", ToolCall("s1", "globex"), ToolCall("s2", null),
            new { type = "agent_request", time = Time, event_id = "s3", agent_id = "a", method = "m" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("admin", ToolCall("x1", "initech"))).Status);
        Assert.Equal(["s1/globex", "s2/-", "s3/-", "x1/initech"], await StoredAsync());
    }

    [Fact]
    public async Task ThePinLivesInTheIngestServiceForEveryEndpoint()
    {
        var ingest = _host.Services.GetRequiredService<IngestService>();
        UsageEvent Call(string id, string? tenant) => new()
        {
            Type = EventTypes.ToolCall, Time = DateTimeOffset.UtcNow.AddMinutes(-1), EventId = id, AgentId = "a", ToolName = "t", ServerLabel = "s",
            TenantId = tenant, Status = "success", LatencyMs = 1, RequestBytes = 1, ResponseBytes = 1,
        };
        var refused = Assert.IsType<IngestOutcome.Refused>(await ingest.SubmitAsync([Call("o1", "globex")], "otlp", "acme", default));
        Assert.Equal(("tenant_id", 0), (Assert.Single(refused.Problems).Field, refused.Problems[0].Index));
        var stored = Assert.IsType<IngestOutcome.Stored>(await ingest.SubmitAsync([Call("o2", null)], "otlp", "acme", default));
        Assert.Equal("acme", Assert.Single(stored.Result.Stored).TenantId);
        Assert.Equal(["o2/acme"], await StoredAsync());
    }
}
