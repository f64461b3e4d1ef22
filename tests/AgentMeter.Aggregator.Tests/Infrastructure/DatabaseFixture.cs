using AgentMeter.Aggregator.Database;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Infrastructure;

/// <summary>A fresh, migrated database per test class (use with IClassFixture).</summary>
public sealed class DatabaseFixture : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await PostgresCluster.CreateDatabaseAsync("t");
        DataSource = NpgsqlDataSource.Create(ConnectionString);
        await new Migrator(DataSource, NullLogger<Migrator>.Instance).MigrateAsync();
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();
}
