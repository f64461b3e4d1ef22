using AgentMeter.Aggregator.Database;

namespace AgentMeter.Testing.Postgres;

/// <summary>
/// One real PostgreSQL cluster per test run, started by the project's own launcher in a temporary
/// folder and stopped when the test process exits.
/// </summary>
public static class PostgresCluster
{
    private static readonly Lazy<Task<PostgresLauncher>> Launcher = new(StartAsync);

    public static Task<PostgresLauncher> GetAsync() => Launcher.Value;

    private static async Task<PostgresLauncher> StartAsync()
    {
        RemoveLeftovers();
        var dir = Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}");
        var launcher = await PostgresLauncher.StartAsync(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            launcher.DisposeAsync().AsTask().GetAwaiter().GetResult();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return launcher;
    }

    private const string Prefix = "agentmeter-tests-";

    /// <summary>
    /// A test host that is killed rather than exits never runs ProcessExit, leaving its cluster
    /// folder (over 1 GB) behind: remove those of test processes that are gone.
    /// </summary>
    private static void RemoveLeftovers()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            if (!int.TryParse(Path.GetFileName(dir)[Prefix.Length..], out var pid) || Directory.Exists($"/proc/{pid}")) continue;
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A new, empty database on the shared cluster.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var launcher = await GetAsync();
        var name = $"{new string(prefix.ToLowerInvariant().Where(char.IsLetterOrDigit).Take(30).ToArray())}_{Guid.NewGuid():N}"[..^20];
        return await launcher.EnsureDatabaseAsync(name);
    }
}
