using AgentMeter.Aggregator.Import;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;

namespace AgentMeter.Aggregator.Tests.Import;

public class ImportSourceTests
{
    [Theory]
    [InlineData("audit_log", "\"audit_log\"")]
    [InlineData("registry.audit_events", "\"registry\".\"audit_events\"")]
    [InlineData("Audit$Log_2", "\"Audit$Log_2\"")]
    public void TableAndSchemaQualifiedNamesAreQuoted(string text, string quoted)
    {
        Assert.True(ImportSource.TryParse(text, out var source, out _));
        Assert.Equal(quoted, source.Quoted);
        Assert.Equal(text, source.ToString());
    }

    [Theory]
    [InlineData("audit_log; DROP TABLE usage_events")]
    [InlineData("a.b.c")]
    [InlineData("1audit")]
    [InlineData("\"audit\"")]
    [InlineData("")]
    [InlineData("audit log")]
    public void AnythingButAnIdentifierIsRefusedWithWhatItAccepts(string text)
    {
        Assert.False(ImportSource.TryParse(text, out _, out var problem));
        Assert.Contains("is not a table or view name such as audit_log", problem);
    }

    [Fact]
    public async Task AMalformedSourceStopsTheStartWithTheSetting()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            AggregatorHost.StartAsync("Host=127.0.0.1", new Dictionary<string, string?> { ["Import:Source"] = "x;y" }));
        Assert.Contains("Import__Source \"x;y\"", e.Message);
    }
}

/// <summary>
/// A typical registry audit table adapted by a view (the one docs/core.md shows), imported through
/// the real service: each row exactly once across passes and restarts, bad rows kept aside.
/// </summary>
public class AuditImportTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    public const string AuditSchema =
        """
        CREATE SCHEMA registry;
        CREATE TABLE registry.audit_log (
            id           bigserial PRIMARY KEY,
            occurred_at  timestamptz NOT NULL,
            actor_agent  text NOT NULL,
            action       text NOT NULL,         -- e.g. 'tools/call:github/search_issues'
            org_id       text,
            end_user     text,
            llm          text,
            ok           boolean NOT NULL,
            duration_ms  integer,
            req_size     integer,
            resp_size    integer
        );
        CREATE VIEW registry.agentmeter_audit AS
        SELECT id,
               occurred_at                                         AS time,
               actor_agent                                         AS agent_id,
               split_part(split_part(action, ':', 2), '/', 2)      AS tool_name,
               split_part(split_part(action, ':', 2), '/', 1)      AS server_label,
               end_user                                            AS user_id,
               org_id                                              AS tenant_id,
               llm                                                 AS model,
               CASE WHEN ok THEN 'success' ELSE 'failure' END      AS status,
               duration_ms                                         AS latency_ms,
               req_size                                            AS request_bytes,
               resp_size                                           AS response_bytes
        FROM registry.audit_log
        WHERE action LIKE 'tools/call:%';
        """;

    private readonly Dictionary<string, string?> _settings = new()
    {
        ["Import:Source"] = "registry.agentmeter_audit", ["Import:Interval"] = "00:00:00.100", ["Import:BatchSize"] = "3",
    };

    public async Task InitializeAsync()
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync("DROP SCHEMA IF EXISTS registry CASCADE; TRUNCATE usage_events, import_watermarks, import_rejected_rows;");
        await conn.ExecuteAsync(AuditSchema);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task AddAuditRowsAsync(int count, int duration = 20, string day = "2026-11-02")
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await conn.ExecuteAsync(
            """
            INSERT INTO registry.audit_log (occurred_at, actor_agent, action, org_id, end_user, llm, ok, duration_ms, req_size, resp_size)
            SELECT @day::timestamptz + i * interval '1 minute', 'agent-' || (i % 3), 'tools/call:github/search_issues', 'acme', 'u' || i,
                   'gpt-4o', i % 4 <> 0, @duration, 100 * i, 300 * i
            FROM generate_series(1, @count) i
            """, new { count, duration, day });
    }

    private async Task<long> CountAsync(string sql = "SELECT count(*) FROM usage_events")
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>(sql);
    }

    /// <summary>One pass of our own; the service's pass may hold the import lock for a moment (then ours skips: retry).</summary>
    private static async Task<ImportResult> RunOnceAsync(AuditImporter importer, ImportSource source)
    {
        while (true)
        {
            var result = await importer.RunOnceAsync(source, default);
            if (result.Ran) return result;
            await Task.Delay(20);
        }
    }

    private async Task WaitForAsync(long events)
    {
        for (var i = 0; i < 100 && await CountAsync() < events; i++) await Task.Delay(100);
    }

    [Fact]
    public async Task EveryRowIsImportedOnceAcrossPassesAndRestarts()
    {
        await AddAuditRowsAsync(7);
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("INSERT INTO registry.audit_log (occurred_at, actor_agent, action, ok) VALUES (now(), 'a', 'login', true)");

        await using (var host = await AggregatorHost.StartAsync(db.ConnectionString, _settings))
        {
            await WaitForAsync(7);
            var importer = host.Services.GetRequiredService<AuditImporter>();
            var source = host.Services.GetRequiredService<ImportSource>();
            var again = await RunOnceAsync(importer, source);
            Assert.Equal(0, again.Imported);
            Assert.Equal(7, again.Watermark); // the login row (id 8) is not in the view
        }
        Assert.Equal(7, await CountAsync());

        // Down for a while; rows keep arriving; the restarted service picks up exactly the new ones.
        await AddAuditRowsAsync(5, duration: 40, day: "2026-11-03");
        await using (await AggregatorHost.StartAsync(db.ConnectionString, _settings))
        {
            await WaitForAsync(12);
            await Task.Delay(500); // several more ticks: nothing may come twice
        }
        Assert.Equal(12, await CountAsync());
        Assert.Equal(5, await CountAsync("SELECT count(*) FROM usage_events WHERE latency_ms = 40"));
        Assert.Equal(12, await CountAsync("SELECT imported_rows FROM import_watermarks WHERE source = 'registry.agentmeter_audit'"));
        Assert.Equal(13, await CountAsync("SELECT last_id FROM import_watermarks"));

        await using var check = await db.DataSource.OpenConnectionAsync();
        var first = await check.QuerySingleAsync<(string agent, string tool, string server, string tenant, string status, long req, string source)>(
            "SELECT agent_id, tool_name, server_label, tenant_id, status, request_bytes, source FROM usage_events ORDER BY time LIMIT 1");
        Assert.Equal(("agent-1", "search_issues", "github", "acme", "success", 100L, "import"), first);
    }

    [Fact]
    public async Task ABadRowIsSkippedNamedAndKeptWhileTheRestIsImported()
    {
        await AddAuditRowsAsync(2);
        await using (var conn = await db.DataSource.OpenConnectionAsync())
        {
            await conn.ExecuteAsync("INSERT INTO registry.audit_log (occurred_at, actor_agent, action, ok, duration_ms, req_size, resp_size) VALUES (now(), 'a', 'tools/call:', true, -5, 1, 1)");
        }
        await AddAuditRowsAsync(2);
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Import:Source"] = "registry.agentmeter_audit", ["Import:Interval"] = "01:00:00" });
        var importer = host.Services.GetRequiredService<AuditImporter>();
        await WaitForAsync(4);
        var result = await RunOnceAsync(importer, host.Services.GetRequiredService<ImportSource>());
        Assert.Equal(0, result.Imported + result.Rejected);

        Assert.Equal(4, await CountAsync());
        await using var conn2 = await db.DataSource.OpenConnectionAsync();
        var (id, problems) = await conn2.QuerySingleAsync<(long, string)>("SELECT id, problems FROM import_rejected_rows");
        Assert.Equal(3, id);
        Assert.Contains("tool_name: must not be empty", problems);
        Assert.Contains("latency_ms: -5 is not a number of milliseconds from 0 to 86400000 (24 hours)", problems);
        Assert.Equal((5L, 1L), await conn2.QuerySingleAsync<(long, long)>("SELECT last_id, rejected_rows FROM import_watermarks"));
    }

    [Fact]
    public async Task ASourceWithoutARequiredColumnIsReportedByName()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("CREATE VIEW registry.incomplete AS SELECT id, occurred_at AS time, actor_agent AS agent_id FROM registry.audit_log");
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Import:Source"] = "registry.incomplete", ["Import:Interval"] = "01:00:00" });
        var importer = host.Services.GetRequiredService<AuditImporter>();
        ImportSource.TryParse("registry.incomplete", out var source, out _);
        var e = await Assert.ThrowsAsync<ImportSourceException>(() => RunOnceAsync(importer, source));
        Assert.Contains("lacks column(s) tool_name, server_label, status, latency_ms", e.Message);
    }
}
