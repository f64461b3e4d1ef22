using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace AgentMeter.Aggregator.Database;

/// <summary>
/// Brings the schema up to date under a session advisory lock, so replicas starting together do it
/// once: first the versioned table migrations embedded from Database/Migrations, in order, each in
/// its own transaction and applied once; then the definitions (functions, views, triggers) embedded
/// from Database/Definitions, written with CREATE OR REPLACE, in file-name order. docs/database.md.
/// </summary>
public sealed partial class Migrator(NpgsqlDataSource db, ILogger<Migrator> log)
{
    [GeneratedRegex(@"Migrations\.(\d{4})_([A-Za-z0-9_]+)\.sql$")]
    private static partial Regex MigrationResource();

    [GeneratedRegex(@"Definitions\.(\d{2}_[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex DefinitionResource();

    /// <summary>
    /// The last migration that filled new tables from data already stored with functions of its own.
    /// Those functions now live in the definitions, applied after the migrations, so a database older
    /// than this version can no longer be brought forward by this build.
    /// </summary>
    public const int OldestUpgradable = 101;

    public sealed record Migration(int Version, string Name, string Sql);

    public sealed record Definition(string Name, string Sql, string Checksum);

    public static IReadOnlyList<Migration> All { get; } = Load(MigrationResource(),
        (m, sql) => new Migration(int.Parse(m.Groups[1].Value), m.Groups[2].Value, sql)).OrderBy(m => m.Version).ToList();

    public static IReadOnlyList<Definition> Definitions { get; } = Load(DefinitionResource(),
        (m, sql) => new Definition(m.Groups[1].Value, sql, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)))))
        .OrderBy(d => d.Name, StringComparer.Ordinal).ToList();

    private static IEnumerable<T> Load<T>(Regex resource, Func<Match, string, T> make)
    {
        var asm = typeof(Migrator).Assembly;
        return asm.GetManifestResourceNames()
            .Select(n => (n, m: resource.Match(n)))
            .Where(x => x.m.Success)
            .Select(x => make(x.m, Read(asm, x.n)));
    }

    private static string Read(Assembly asm, string name)
    {
        using var s = asm.GetManifestResourceStream(name)!;
        return new StreamReader(s).ReadToEnd();
    }

    /// <summary>Applies what is missing; returns the number of migrations applied.</summary>
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
                    applied_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE IF NOT EXISTS schema_definitions (
                    name text PRIMARY KEY,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken: ct));
            var count = await ApplyMigrationsAsync(conn, ct);
            await ApplyDefinitionsAsync(conn, count > 0, ct);
            return count;
        }
        finally
        {
            await conn.ExecuteAsync("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLocks.Migrations });
        }
    }

    private async Task<int> ApplyMigrationsAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var applied = (await conn.QueryAsync<int>(new CommandDefinition("SELECT version FROM schema_migrations", cancellationToken: ct))).ToHashSet();
        if (applied.Count > 0 && !applied.Contains(OldestUpgradable))
            throw new InvalidOperationException(
                $"The database's schema is at migration {applied.Max():D4}, older than {OldestUpgradable:D4}, which this " +
                $"version cannot upgrade (the backfills of migrations 0100 and 0101 are no longer carried). Upgrade it " +
                $"first with an AgentMeter built from commit ca37be2 or earlier, or point the aggregator at an empty database.");
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

    /// <summary>
    /// Re-applies every definition file, in one transaction, when any file is new or changed or a
    /// migration ran: a later file may use an earlier one's objects, a file may DROP … CASCADE what
    /// later files re-create, and a migration may drop a view to alter a column it reads. When
    /// nothing changed nothing runs, so a replica's start takes no lock on the tables the triggers
    /// and views are on.
    /// </summary>
    private async Task ApplyDefinitionsAsync(NpgsqlConnection conn, bool migrated, CancellationToken ct)
    {
        var recorded = (await conn.QueryAsync<(string Name, string Checksum)>(new CommandDefinition(
            "SELECT name, checksum FROM schema_definitions", cancellationToken: ct))).ToHashSet();
        if (!migrated && recorded.SetEquals(Definitions.Select(d => (d.Name, d.Checksum))))
            return;
        await using var tx = await conn.BeginTransactionAsync(ct);
        foreach (var d in Definitions)
            await conn.ExecuteAsync(new CommandDefinition(d.Sql, transaction: tx, cancellationToken: ct));
        await conn.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM schema_definitions;
            INSERT INTO schema_definitions (name, checksum) SELECT * FROM unnest(@Names, @Checksums)
            """,
            new { Names = Definitions.Select(d => d.Name).ToArray(), Checksums = Definitions.Select(d => d.Checksum).ToArray() },
            tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        log.LogInformation("Applied the schema definitions {Names}", string.Join(", ", Definitions.Select(d => d.Name)));
    }
}
