using System.Diagnostics;
using System.Text.Json;
using AgentMeter.Aggregator.Aggregation;
using AgentMeter.Aggregator.Alerts;
using AgentMeter.Aggregator.Analytics;
using AgentMeter.Aggregator.Database;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Entities.Domain;
using AgentMeter.Testing;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace AgentMeter.Aggregator.Tests.Database;

/// <summary>
/// The definitions (Database/Definitions) against the migrations as they were before the
/// definitions left them: a database those migrations made, with data aggregated, upgrades in place
/// with the same answers and ends with the schema of a database made from empty.
/// </summary>
public class DatabaseSchemaTests
{
    /// <summary>The last commit whose migrations declared the functions, views and triggers themselves.</summary>
    private const string Baseline = "ca37be2";
    private const string MigrationsFolder = "src/Aggregator/Database/Migrations/";
    private static readonly DateOnly First = new(2026, 11, 24);
    private static readonly DateOnly Today = new(2026, 11, 29);
    private static readonly JsonSerializerOptions Json = new() { IncludeFields = true };

    [Fact]
    public async Task ADatabaseOfTheBaselineMigrationsUpgradesWithTheSameAnswersAndTheSchemaOfAFreshOne()
    {
        var oldCs = await PostgresCluster.CreateDatabaseAsync("upgraded");
        await using var oldDb = NpgsqlDataSource.Create(oldCs);
        await ApplyBaselineMigrationsAsync(oldDb, int.MaxValue);
        await using var oldApp = Build(oldCs);
        await SeedAsync(oldDb);
        await AggregateAsync(oldApp, First, Today.AddDays(-2));
        var before = await AnswersAsync(oldApp, oldDb);

        Assert.Equal(0, await new Migrator(oldDb, NullLogger<Migrator>.Instance).MigrateAsync()); // the baseline has every migration left
        Assert.Equal(Migrator.Definitions.Select(d => d.Name),
            await oldDb.CreateConnection().QueryAsync<string>("SELECT name FROM schema_definitions ORDER BY name"));
        AssertSameAnswers(before, await AnswersAsync(oldApp, oldDb));

        var freshCs = await PostgresCluster.CreateDatabaseAsync("fresh");
        await using var freshDb = NpgsqlDataSource.Create(freshCs);
        await new Migrator(freshDb, NullLogger<Migrator>.Instance).MigrateAsync();
        await using var freshApp = Build(freshCs);
        await SeedAsync(freshDb);
        await AggregateAsync(freshApp, First, Today.AddDays(-2));
        AssertSameAnswers(before, await AnswersAsync(freshApp, freshDb));

        // The functions and the trigger the upgrade replaced write the next day as a fresh database's do.
        await AggregateAsync(oldApp, Today.AddDays(-1), Today.AddDays(-1));
        await AggregateAsync(freshApp, Today.AddDays(-1), Today.AddDays(-1));
        var upgraded = await AnswersAsync(oldApp, oldDb);
        AssertSameAnswers(await AnswersAsync(freshApp, freshDb), upgraded);
        Assert.NotEqual(before["costs/agent"], upgraded["costs/agent"]); // the day counted

        Assert.Equal(await SchemaAsync(freshCs), await SchemaAsync(oldCs));
    }

    [Fact]
    public async Task DefinitionsRunAgainOnlyWhenAFileChanged()
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("definitions");
        await using var db = NpgsqlDataSource.Create(cs);
        var migrator = new Migrator(db, NullLogger<Migrator>.Instance);
        await migrator.MigrateAsync();
        await using var conn = await db.OpenConnectionAsync();
        const string exists = "SELECT to_regprocedure('agentmeter_day_cost(numeric)') IS NOT NULL";

        await conn.ExecuteAsync("DROP FUNCTION agentmeter_day_cost(numeric) CASCADE");
        Assert.Equal(0, await migrator.MigrateAsync());
        Assert.False(await conn.ExecuteScalarAsync<bool>(exists)); // unchanged files are not run again

        await conn.ExecuteAsync("UPDATE schema_definitions SET checksum = 'changed' WHERE name = '10_bounded_arithmetic'");
        await migrator.MigrateAsync();
        Assert.True(await conn.ExecuteScalarAsync<bool>(exists));
        Assert.Equal(Migrator.Definitions.Select(d => d.Checksum),
            await conn.QueryAsync<string>("SELECT checksum FROM schema_definitions ORDER BY name"));
    }

    [Fact]
    public async Task ADatabaseOlderThanTheLastBackfillIsRefusedWithWhatToDo()
    {
        var cs = await PostgresCluster.CreateDatabaseAsync("tooold");
        await using var db = NpgsqlDataSource.Create(cs);
        await ApplyBaselineMigrationsAsync(db, Migrator.OldestUpgradable - 1);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new Migrator(db, NullLogger<Migrator>.Instance).MigrateAsync());
        Assert.Contains("0100", e.Message);
        Assert.Contains(Baseline, e.Message);
        Assert.Equal(100, await db.CreateConnection().ExecuteScalarAsync<int>("SELECT max(version) FROM schema_migrations"));
    }

    /// <summary>What the migrator of the baseline did: each file in version order, recorded in schema_migrations.</summary>
    private static async Task ApplyBaselineMigrationsAsync(NpgsqlDataSource db, int upTo)
    {
        var files = Git("ls-tree", "--name-only", Baseline, MigrationsFolder).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
        foreach (var file in files)
        {
            var name = Path.GetFileNameWithoutExtension(file);
            var version = int.Parse(name[..4]);
            if (version > upTo) break;
            await conn.ExecuteAsync(Git("show", $"{Baseline}:{file}"));
            await conn.ExecuteAsync("INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", new { version, name = name[5..] });
        }
    }

    private static string Git(params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)} failed (a clone without the history of {Baseline}?): {stderr}");
        return stdout;
    }

    /// <summary>The real app at noon of <see cref="Today"/>, on a clock that stands still; not started, so no job runs.</summary>
    private static WebApplication Build(string connectionString) =>
        AggregatorApp.Build(CommandLine.Parse(["serve", "--urls", "http://127.0.0.1:0"]), b =>
        {
            b.Configuration[$"ConnectionStrings:{DatabaseSetup.ConnectionStringName}"] = connectionString;
            b.Configuration["Otlp:GrpcPort"] = "0";
            b.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(new DateTimeOffset(Today.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero)));
            b.Logging.SetMinimumLevel(LogLevel.Warning);
        });

    private static async Task AggregateAsync(WebApplication app, DateOnly from, DateOnly to)
    {
        foreach (var r in await app.Services.GetRequiredService<DailyAggregator>().AggregateRangeAsync(from, to, CancellationToken.None))
            Assert.Equal(DayOutcome.Aggregated, r.Outcome);
    }

    /// <summary>
    /// Tool and model calls over six days with every pricing case: a model rate with a cached-input
    /// price, its replacement mid-range (other prices, bytesPerToken and an output cap), a model in
    /// another currency, an unpriced model, calls without a model, server rates with a toolCallPrice
    /// (one clashing in currency, one starting mid-range), reported and estimated tokens.
    /// </summary>
    private static async Task SeedAsync(NpgsqlDataSource db)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync(
            """
            SELECT setseed(0.42);
            SELECT agentmeter_ensure_event_partition(d::date) FROM generate_series(@first::date, @today::date, interval '1 day') d;
            INSERT INTO cost_rates (name, model, server_label, currency, input_per_million, output_per_million,
                                    cached_input_per_million, tool_call_price, effective_from, bytes_per_token, max_output_tokens, updated_at)
            VALUES ('gpt', 'gpt', NULL, 'USD', 2.5, 10, 1.25, NULL, '2026-01-01', 4, NULL, '2026-11-01'),
                   ('gpt-november', 'gpt', NULL, 'USD', 3.125, 12.5, NULL, NULL, '2026-11-26', 3, 700, '2026-11-01'),
                   ('claude', 'claude', NULL, 'EUR', 3, 15, NULL, NULL, '2026-01-01', 4, NULL, '2026-11-01'),
                   ('server-a', NULL, 'server-a', 'USD', 0, 0, NULL, 0.002, '2026-01-01', 4, NULL, '2026-11-01'),
                   ('server-b', NULL, 'server-b', 'EUR', 0, 0, NULL, 0.0105, '2026-11-27', 4, NULL, '2026-11-01');
            INSERT INTO usage_events (time, type, event_id, agent_id, tool_name, server_label, user_id, tenant_id, model, status,
                                      latency_ms, request_bytes, response_bytes, input_tokens, output_tokens, cached_input_tokens)
            SELECT d + interval '1 second' * (random() * 86399), CASE WHEN i % 7 = 0 THEN 'model_call' ELSE 'tool_call' END,
                   'e-' || to_char(d, 'YYYYMMDD') || '-' || i, 'agent-' || i % 3,
                   CASE WHEN i % 7 <> 0 THEN 'tool-' || i % 4 END,
                   CASE WHEN i % 7 <> 0 THEN (ARRAY['server-a', 'server-b', 'server-c'])[1 + i % 3] END,
                   'user-' || i % 5, 'tenant-' || i % 2,
                   CASE WHEN i % 7 = 0 THEN (ARRAY['gpt', 'claude', 'unpriced'])[1 + i % 3] ELSE (ARRAY['gpt', 'claude', 'unpriced', NULL])[1 + i % 4] END,
                   CASE WHEN i % 7 = 0 THEN NULL WHEN random() < 0.1 THEN 'failure' ELSE 'success' END,
                   CASE WHEN i % 7 = 0 THEN NULL WHEN random() < 0.03 THEN random() ELSE exp(random() * 8) END,
                   (random() * 9000)::int, (random() * 4000)::int,
                   CASE WHEN i % 3 = 0 THEN 1000 + (random() * 5000)::int END, CASE WHEN i % 3 = 0 THEN (random() * 2000)::int END,
                   CASE WHEN i % 6 = 0 THEN 400 END
            FROM generate_series(@first::date, @today::date, interval '1 day') d, generate_series(1, 200) i;
            """, new { first = First.ToDateTime(TimeOnly.MinValue), today = Today.ToDateTime(TimeOnly.MinValue) });
    }

    /// <summary>Usage, costs and the heatmap by every dimension, an alert window over aggregated days and raw events, and the SQL rows behind them.</summary>
    private static async Task<Dictionary<string, string>> AnswersAsync(WebApplication app, NpgsqlDataSource db)
    {
        var answers = new Dictionary<string, string>();
        var ct = CancellationToken.None;
        foreach (var dim in Dimension.All)
        {
            var r = new AnalyticsRequest(First, Today, null, dim, 100);
            answers[$"usage/{dim.Name}"] = JsonSerializer.Serialize(await app.Services.GetRequiredService<UsageQuery>().RunAsync(r, ct), Json);
            answers[$"costs/{dim.Name}"] = JsonSerializer.Serialize(await app.Services.GetRequiredService<CostQuery>().RunAsync(r, ct), Json);
        }
        answers["heatmap"] = JsonSerializer.Serialize(await app.Services.GetRequiredService<HeatmapQuery>()
            .RunAsync(new AnalyticsRequest(First, Today, null, Dimension.Tenant, 100), ct), Json);
        var window = await app.Services.GetRequiredService<AlertWindowQueries>().LoadAsync(
            new DateTimeOffset(First.AddDays(2).ToDateTime(new TimeOnly(6, 0)), TimeSpan.Zero),
            new DateTimeOffset(Today.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero), new AlertWindowQueries.CycleCache(), ct);
        answers["alert window"] = string.Join('\n', window.Usage.Select(u => JsonSerializer.Serialize(u, Json)).Order(StringComparer.Ordinal));
        await using var conn = await db.OpenConnectionAsync();
        foreach (var (name, sql) in new Dictionary<string, string>
        {
            ["events priced"] = "SELECT t::text FROM (SELECT * FROM usage_events_estimated) t ORDER BY 1",
            ["rates by day"] = "SELECT d::date || ' ' || r::text FROM generate_series('2026-11-24'::date, '2026-11-29', interval '1 day') d, agentmeter_rates_on(d::date) r ORDER BY 1",
            ["usage_stats"] = "SELECT t::text FROM usage_stats t ORDER BY 1",
            ["usage_stats_all"] = "SELECT t::text FROM usage_stats_all t ORDER BY 1",
            ["by dimension"] = "SELECT t::text FROM usage_stats_by_dimension t ORDER BY 1",
            ["hourly"] = "SELECT t::text FROM usage_stats_hourly t ORDER BY 1",
            ["cost running totals"] = "SELECT t::text FROM usage_stats_cost_running t ORDER BY 1",
            ["p95 per tool"] = """
                SELECT tool_name || ' ' || agentmeter_histogram_quantile(agentmeter_histogram_merge(latency_histogram::bigint[]), 0.95)
                FROM usage_stats GROUP BY tool_name ORDER BY 1
                """,
        })
            answers[name] = string.Join('\n', await conn.QueryAsync<string>(sql));
        Assert.All(answers, a => Assert.False(string.IsNullOrEmpty(a.Value), a.Key + " is empty"));
        return answers;
    }

    private static void AssertSameAnswers(Dictionary<string, string> expected, Dictionary<string, string> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, value) in expected)
            Assert.True(value == actual[key], $"{key} differs:\n{value}\n---\n{actual[key]}");
    }

    /// <summary>pg_dump --schema-only, its blocks (one per object) sorted: the dump's own order may follow object ids.</summary>
    private static async Task<string> SchemaAsync(string connectionString)
    {
        var c = new NpgsqlConnectionStringBuilder(connectionString);
        var psi = new ProcessStartInfo(Path.Combine(PostgresLauncher.FindBinaries()!, "pg_dump"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
            ArgumentList = { "--schema-only", "--no-owner", "-h", c.Host!, "-p", c.Port.ToString(), "-U", c.Username!, c.Database! },
            Environment = { ["PGPASSWORD"] = c.Password },
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, "pg_dump failed: " + stderr);
        // \restrict and \unrestrict carry a random key per dump (pg_dump 15.14 and later).
        var lines = (await stdout).Split('\n').Where(l => !l.StartsWith("\\restrict ", StringComparison.Ordinal) && !l.StartsWith("\\unrestrict ", StringComparison.Ordinal));
        return string.Join("\n--\n", string.Join('\n', lines).Split("\n--\n").Order(StringComparer.Ordinal));
    }
}
