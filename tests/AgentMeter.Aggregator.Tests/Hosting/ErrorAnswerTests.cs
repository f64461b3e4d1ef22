using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Hosting;

/// <summary>
/// A database failure reaches an HTTP caller as a generic message and a trace id, never as the
/// database's own words (they can quote values, names of tables and columns, hosts, users); the log
/// has the exception under the same trace id.
/// </summary>
public class ErrorAnswerTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private readonly LogCapture _logs = new();
    private AggregatorHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await AggregatorHost.StartAsync(db.ConnectionString, configure: b => b.Logging.AddProvider(_logs));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task ExecuteAsync(string sql)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync(sql);
    }

    [Fact]
    public async Task AnEndpointWhoseQueryFailsAnswers503WithATraceIdAndNoDatabaseText()
    {
        await ExecuteAsync("ALTER TABLE cost_rates RENAME TO cost_rates_gone");
        try
        {
            using var response = await _host.Client().GetAsync("/api/v1/costrates");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("cost_rates", text);
            Assert.DoesNotContain("does not exist", text);
            var traceId = JsonDocument.Parse(text).RootElement.GetProperty("traceId").GetString()!;
            Assert.Matches("^[0-9a-f]{32}$", traceId);
            Assert.Contains($"trace id {traceId}", JsonDocument.Parse(text).RootElement.GetProperty("error").GetString());
            Assert.True(await _logs.WaitForAsync(l => l.Contains(traceId) && l.Contains("relation \"cost_rates\" does not exist")));
        }
        finally
        {
            await ExecuteAsync("ALTER TABLE cost_rates_gone RENAME TO cost_rates");
        }
    }

    [Fact]
    public async Task ReadinessSaysTheDatabaseIsUnreachableWithoutItsErrorText()
    {
        // The database refuses every connection (and the open ones are ended), as during an outage.
        var database = new NpgsqlConnectionStringBuilder(db.ConnectionString).Database!;
        var admin = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync();
            await conn.ExecuteAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false");
            await conn.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @database", new { database });
        }
        try
        {
            using var response = await _host.Client().GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.StartsWith("database unreachable (trace id ", text);
            Assert.DoesNotContain(database, text);
            Assert.DoesNotContain("connection", text);
            Assert.Contains(_logs.Lines, l => l.Contains("Not ready") && (l.Contains("not currently accepting connections") || l.Contains("terminating connection")));
        }
        finally
        {
            await using var conn = new NpgsqlConnection(admin);
            await conn.OpenAsync();
            await conn.ExecuteAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true");
            // Pooled connections that were ended are dropped, not handed out again.
            db.DataSource.Clear();
            _host.Services.GetRequiredService<NpgsqlDataSource>().Clear();
        }
        using var ready = await _host.Client().GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task AnIngestThatPostgresRefusesSaysNothingWasStoredWithoutTheDatabaseText()
    {
        await ExecuteAsync("ALTER TABLE server_health_events RENAME TO server_health_events_gone");
        try
        {
            using var response = await _host.Client().PostAsJsonAsync("/api/v1/events", new object[]
            {
                new { type = "agent_request", time = "2026-11-02T10:00:00Z", agent_id = "a", method = "m" },
                // Written after the COPY into usage_events, into the table that is gone.
                new { type = "circuit_breaker", time = "2026-11-02T10:00:00Z", server_label = "github", state = "open" },
            });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            var error = body.GetProperty("error").GetString()!;
            Assert.Contains("rolled it back: nothing was stored; retry the batch", error);
            Assert.DoesNotContain("server_health_events", error);
            var traceId = body.GetProperty("traceId").GetString()!;
            Assert.Contains(_logs.Lines, l => l.Contains(traceId) && l.Contains("relation \"server_health_events\" does not exist"));
            Assert.Null(response.Headers.RetryAfter);
            await using var conn = await db.DataSource.OpenConnectionAsync();
            Assert.Equal(0L, await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM usage_events WHERE time = '2026-11-02T10:00:00Z'"));
        }
        finally
        {
            await ExecuteAsync("ALTER TABLE server_health_events_gone RENAME TO server_health_events");
        }
    }
}
