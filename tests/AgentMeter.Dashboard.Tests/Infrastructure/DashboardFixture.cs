namespace AgentMeter.Dashboard.Tests.Infrastructure;

/// <summary>One analytics server and one Chromium for all browser tests (starting either is the slow part).</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private ContractServer? _server;

    public Chromium Chromium { get; } = new();
    public string BaseUrl => _server!.BaseUrl;
    public string AdminToken => ContractServer.AdminToken;
    public IReadOnlyList<string> Tenants => [.. ContractServer.TenantTokens.Keys.Order()];

    public string TenantToken(string tenant) => ContractServer.TenantTokens[tenant];

    public AnalyticsClient Api(string? token) => new(BaseUrl, token);

    public async Task InitializeAsync()
    {
        _server = await ContractServer.StartAsync(new SampleUsage(days: 120));
        await Chromium.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Chromium.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}
