using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Database;

/// <summary>
/// Applies the versioned SQL files embedded from Database/Migrations in order, each in its own
/// transaction, under a session advisory lock so replicas starting together apply each file once.
/// </summary>
public sealed partial class Migrator(NpgsqlDataSource db, ILogger<Migrator> log)
{
    [GeneratedRegex(@"Migrations\.(\d{4})_([A-Za-z0-9_]+)\.sql$")]
    private static partial Regex ResourceName();

    public sealed record Migration(int Version, string Name, string Sql);

    public static IReadOnlyList<Migration> All { get; } = Load();

    private static List<Migration> Load()
    {
        var asm = typeof(Migrator).Assembly;
        return asm.GetManifestResourceNames()
            .Select(n => (n, m: ResourceName().Match(n)))
            .Where(x => x.m.Success)
            .Select(x => new Migration(int.Parse(x.m.Groups[1].Value), x.m.Groups[2].Value, Read(asm, x.n)))
            .OrderBy(m => m.Version)
            .ToList();
    }

    private static string Read(Assembly asm, string name)
    {
        using var s = asm.GetManifestResourceStream(name)!;
        return new StreamReader(s).ReadToEnd();
    }

    public async Task<int> MigrateAsync(CancellationToken ct = default)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@k)", new { k = AdvisoryLocks.Migrations }, cancellationToken: ct));
        try
        {
            await conn.ExecuteAsync(new CommandDefinition(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken: ct));
            var applied = (await conn.QueryAsync<int>("SELECT version FROM schema_migrations")).ToHashSet();
            var count = 0;
            foreach (var m in All.Where(m => !applied.Contains(m.Version)))
            {
                await using var tx = await conn.BeginTransactionAsync(ct);
                await conn.ExecuteAsync(new CommandDefinition(m.Sql, transaction: tx, cancellationToken: ct));
                await conn.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO schema_migrations (version, name) VALUES (@Version, @Name)", m, tx, cancellationToken: ct));
                await tx.CommitAsync(ct);
                log.LogInformation("Applied migration {Version:D4}_{Name}", m.Version, m.Name);
                count++;
            }
            return count;
        }
        finally
        {
            await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.Migrations });
        }
    }
}
