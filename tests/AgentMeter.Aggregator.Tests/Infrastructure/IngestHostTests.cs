using Dapper;

namespace AgentMeter.Aggregator.Tests.Infrastructure;

/// <summary>
/// A test class that posts events over HTTP to an aggregator on its own database, emptied of events
/// before each test.
/// </summary>
public abstract class IngestHostTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    protected DatabaseFixture Db => db;
    protected AggregatorHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await using (var conn = await db.DataSource.OpenConnectionAsync())
            await conn.ExecuteAsync("TRUNCATE usage_events");
        Host = await AggregatorHost.StartAsync(db.ConnectionString);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    protected async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        return (await conn.ExecuteScalarAsync<T>(sql, args))!;
    }
}
