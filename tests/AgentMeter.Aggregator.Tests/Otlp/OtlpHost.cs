using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Costs;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>
/// The real aggregator with both OTLP receivers: OTLP/HTTP on its HTTP port and OTLP/gRPC on a free
/// loopback port of its own; ingest and admin tokens; optional CostRates. No aggregation schedule
/// (verb <c>aggregate</c>): a test aggregates the days it sent when it wants to.
/// </summary>
public sealed class OtlpHost : IAsyncDisposable
{
    public const string IngestToken = "otlp-ingest-token", AdminToken = "otlp-admin-token", TenantToken = "otlp-acme-read-token";

    private readonly TempFolder _folder = new();
    public AggregatorHost Host { get; private set; } = null!;
    public int GrpcPort { get; private set; }
    public Uri GrpcAddress => new($"http://127.0.0.1:{GrpcPort}");
    public Uri TracesUrl => new(Host.BaseAddress, "/v1/traces");
    private string _connectionString = "";

    public static async Task<OtlpHost> StartAsync(string connectionString, string? ratesYaml = null, IDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var host = new OtlpHost { _connectionString = connectionString };
        string[] args = ["--from", "2026-01-01", .. ratesYaml is null ? Array.Empty<string>() : ["--resources", host._folder.Write("rates.yaml", ratesYaml)]];
        for (var attempt = 1; ; attempt++)
        {
            host.GrpcPort = FreePort();
            var all = new Dictionary<string, string?>
            {
                ["Otlp:GrpcPort"] = host.GrpcPort.ToString(CultureInfo.InvariantCulture),
                ["Auth:IngestToken"] = IngestToken, ["Auth:AdminToken"] = AdminToken, ["Auth:TenantTokens:acme"] = TenantToken,
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
            try
            {
                host.Host = await AggregatorHost.StartAsync(connectionString, all, args, verb: "aggregate", configure: configure);
                return host;
            }
            catch (IOException) when (attempt < 5)
            {
                // Another process took the port between the probe and the bind: take another.
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public HttpClient Client(string? token = IngestToken) => Host.Client(token);

    public T Service<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    public async Task AggregateAsync(DateOnly day)
    {
        var result = Assert.Single(await Service<DailyAggregator>().AggregateRangeAsync(day, day, CancellationToken.None));
        Assert.Equal(DayOutcome.Aggregated, result.Outcome);
    }

    public async Task<UsageResponse> UsageAsync(DateOnly day, string groupBy)
    {
        using var client = Client(AdminToken);
        return (await client.GetFromJsonAsync<UsageResponse>($"/api/v1/analytics/usage?group_by={groupBy}&from={day:yyyy-MM-dd}&to={day:yyyy-MM-dd}&limit=100"))!;
    }

    public async Task<CostResponse> CostsAsync(DateOnly day, string groupBy)
    {
        using var client = Client(AdminToken);
        return (await client.GetFromJsonAsync<CostResponse>($"/api/v1/analytics/costs?group_by={groupBy}&from={day:yyyy-MM-dd}&to={day:yyyy-MM-dd}"))!;
    }

    public async Task<long> CountAsync(string sql, object? parameters = null)
    {
        await using var conn = new NpgsqlConnection(_connectionString);
        return await conn.ExecuteScalarAsync<long>(sql, parameters);
    }

    /// <summary>The scenario's day, aggregated, equals what was sent: calls and failures per tool, tokens per model, cost per agent.</summary>
    public async Task AssertScenarioAsync(DateOnly day)
    {
        // Sent twice, stored once: 10 tool calls and 5 model calls.
        Assert.Equal(15, await CountAsync("SELECT count(*) FROM usage_events WHERE time >= @from AND time < @to",
            new { from = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), to = day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) }));
        await AggregateAsync(day);

        var tools = await UsageAsync(day, "tool");
        Assert.Equal(GenAiScenario.ToolCalls.OrderBy(t => t.Key),
            tools.Groups.Where(g => g.Calls > 0).Select(g => KeyValuePair.Create(g.Key, (g.Calls, g.Failures))).OrderBy(t => t.Key));
        Assert.Equal(GenAiScenario.ToolCalls.Values.Sum(t => t.Calls), tools.Totals.Calls);

        var models = await UsageAsync(day, "model");
        Assert.Equal(GenAiScenario.ModelTokens.OrderBy(m => m.Key),
            models.Groups.Where(g => g.Key != "").Select(g => KeyValuePair.Create(g.Key, (g.InputTokens, g.OutputTokens))).OrderBy(m => m.Key));

        var costs = Assert.Single((await CostsAsync(day, "agent")).Currencies);
        Assert.Equal("USD", costs.Currency);
        Assert.Equal(GenAiScenario.CostPerAgent.OrderBy(a => a.Key), costs.Groups.Select(g => KeyValuePair.Create(g.Key, g.Cost)).OrderBy(a => a.Key));
    }

    /// <summary>Makes PostgreSQL refuse every write of events until disposed, as a failing database would.</summary>
    public async Task<IAsyncDisposable> RefuseWritesAsync()
    {
        await using var conn = new NpgsqlConnection(_connectionString);
        await conn.ExecuteAsync(
            """
            CREATE FUNCTION otlp_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
            CREATE TRIGGER otlp_test_refuse BEFORE INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION otlp_test_refuse();
            """);
        return new Refusal(_connectionString);
    }

    private sealed class Refusal(string connectionString) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using var conn = new NpgsqlConnection(connectionString);
            await conn.ExecuteAsync("DROP TRIGGER otlp_test_refuse ON usage_events; DROP FUNCTION otlp_test_refuse()");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Host is not null) await Host.DisposeAsync();
        _folder.Dispose();
    }
}
