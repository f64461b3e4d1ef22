namespace AgentMeter.Dashboard.Tests.Infrastructure;

/// <summary>
/// The real aggregator running its demo (30 days of generated registry traffic) and one Chromium, shared by
/// all browser tests: starting either is the slow part.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private AggregatorProcess? _aggregator;

    public Chromium Chromium { get; } = new();
    public string BaseUrl => _aggregator!.BaseUrl;
    public string AdminToken => DemoAggregator.AdminToken;
    public IReadOnlyList<string> Tenants => DemoAggregator.Tenants;

    public string TenantToken(string tenant) => DemoAggregator.TenantToken(tenant);

    public AnalyticsClient Api(string? token) => new(BaseUrl, token);

    public async Task InitializeAsync()
    {
        _aggregator = await DemoAggregator.StartAsync(days: 30);
        await Chromium.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Chromium.DisposeAsync();
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}
