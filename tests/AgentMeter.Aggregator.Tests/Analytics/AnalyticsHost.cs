using AgentMeter.Aggregator.Tests.Infrastructure;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Analytics;

/// <summary>One migrated database and one running aggregator per test class, with an admin and two tenant tokens.</summary>
public sealed class AnalyticsHost : IAsyncLifetime
{
    public const string AdminToken = "admin-secret";
    public const string TenantAToken = "tenant-a-secret";
    public const string TenantBToken = "tenant-b-secret";

    private readonly DatabaseFixture _db = new();
    public AggregatorHost Host { get; private set; } = null!;
    public NpgsqlDataSource Db => _db.DataSource;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        Host = await AggregatorHost.StartAsync(_db.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:AdminToken"] = AdminToken,
            ["Auth:TenantTokens:tenant-a"] = TenantAToken,
            ["Auth:TenantTokens:tenant-b"] = TenantBToken,
        });
    }

    public HttpClient Admin() => Host.Client(AdminToken);
    public HttpClient Client(string token) => Host.Client(token);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await _db.DisposeAsync();
    }
}
