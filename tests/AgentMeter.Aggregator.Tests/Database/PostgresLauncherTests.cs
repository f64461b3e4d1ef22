using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Database;

public class PostgresLauncherTests
{
    [Fact]
    public async Task StartsStopsAndRestartsAPrivateClusterInItsOwnFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"agentmeter-launcher-{Guid.NewGuid():N}");
        try
        {
            string first;
            await using (var launcher = await PostgresLauncher.StartAsync(dir))
            {
                first = await launcher.EnsureDatabaseAsync("agentmeter");
                await using var conn = new NpgsqlConnection(first);
                await conn.OpenAsync();
                Assert.Equal("127.0.0.1", new NpgsqlConnectionStringBuilder(first).Host);
                await conn.ExecuteAsync("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
            }
            await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
            {
                await using var gone = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(first) { Pooling = false }.ConnectionString);
                await gone.OpenAsync();
            });
            // Same folder again: data survives, a fresh port is chosen.
            await using (var again = await PostgresLauncher.StartAsync(dir))
            {
                await using var conn = new NpgsqlConnection(await again.EnsureDatabaseAsync("agentmeter"));
                Assert.Equal(42, await conn.ExecuteScalarAsync<int>("SELECT v FROM kept"));
            }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public void FindsTheMachinesBinaries()
    {
        var bin = PostgresLauncher.FindBinaries();
        Assert.NotNull(bin);
        Assert.True(File.Exists(Path.Combine(bin, "pg_ctl")));
    }
}

public class MigratorTests
{
    [Fact]
    public async Task ReplicasStartingTogetherApplyEachMigrationOnce()
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("migr");
        await using var db = NpgsqlDataSource.Create(cs);
        var counts = await Task.WhenAll(Enumerable.Range(0, 4)
            .Select(_ => Task.Run(() => new Migrator(db, NullLogger<Migrator>.Instance).MigrateAsync())));
        Assert.Equal(Migrator.All.Count, counts.Sum());
        await using var conn = await db.OpenConnectionAsync();
        var versions = (await conn.QueryAsync<int>("SELECT version FROM schema_migrations ORDER BY version")).ToList();
        Assert.Equal(Migrator.All.Select(m => m.Version), versions);
        Assert.Equal(0, await new Migrator(db, NullLogger<Migrator>.Instance).MigrateAsync());
    }

    [Fact]
    public async Task EventPartitionsAreCreatedPerUtcDayAndConcurrentCreationIsHarmless()
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("part");
        await using var db = NpgsqlDataSource.Create(cs);
        await new Migrator(db, NullLogger<Migrator>.Instance).MigrateAsync();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            await using var c = await db.OpenConnectionAsync();
            await c.ExecuteAsync("SELECT agentmeter_ensure_event_partition('2026-03-01')");
        }));
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("INSERT INTO usage_events (time, type) VALUES ('2026-03-01T23:59:59Z', 'tool_call')");
        var ex = await Assert.ThrowsAsync<PostgresException>(() =>
            conn.ExecuteAsync("INSERT INTO usage_events (time, type) VALUES ('2026-03-02T00:00:00Z', 'tool_call')"));
        Assert.Equal(PostgresErrorCodes.CheckViolation, ex.SqlState); // no partition for that day yet: refused, not lost silently
    }
}
