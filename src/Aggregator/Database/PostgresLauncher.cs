using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace AgentMeter.Aggregator.Database;

/// <summary>
/// Starts a private PostgreSQL cluster from the machine's own binaries when no connection string is
/// configured: <c>initdb</c> once into a data folder of its own, <c>pg_ctl start</c> on a free loopback
/// port, <c>pg_ctl stop</c> on dispose. As root it drops to the <c>postgres</c> user, since initdb
/// refuses to run as root.
/// </summary>
public sealed class PostgresLauncher : IAsyncDisposable
{
    private const string SuperUser = "agentmeter";
    private readonly string _binDir;
    private readonly string _dataDir;
    private readonly bool _asPostgresUser;
    private bool _started;

    public string ConnectionString { get; private set; } = "";

    private PostgresLauncher(string binDir, string dataDir)
    {
        _binDir = binDir;
        _dataDir = dataDir;
        _asPostgresUser = Environment.UserName == "root";
    }

    /// <summary>Finds the newest PostgreSQL under /usr/lib/postgresql/*/bin, else initdb on PATH.</summary>
    public static string? FindBinaries()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
            : Enumerable.Empty<string>();
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
        return candidates.Concat(onPath).FirstOrDefault();
    }

    public static string DefaultDataDirectory()
    {
        // As root the server runs as postgres, which cannot enter /root: use a system folder instead.
        if (Environment.UserName == "root") return "/var/lib/agentmeter/postgres";
        var home = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        if (string.IsNullOrEmpty(home))
            home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return Path.Combine(home, "agentmeter", "postgres");
    }

    /// <summary>Starts (initialising if needed) a cluster in <paramref name="dataDir"/>.</summary>
    public static async Task<PostgresLauncher> StartAsync(string dataDir, CancellationToken ct = default)
    {
        var bin = FindBinaries() ?? throw new PostgresUnavailableException(
            "no PostgreSQL server binaries found (looked for initdb in /usr/lib/postgresql/*/bin and on PATH): " +
            "install them (Debian: apt-get install postgresql) or set ConnectionStrings__Postgres");
        var launcher = new PostgresLauncher(bin, Path.GetFullPath(dataDir));
        await launcher.StartAsync(ct);
        return launcher;
    }

    private async Task StartAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(_dataDir);
        var pgData = Path.Combine(_dataDir, "data");
        var passwordFile = Path.Combine(_dataDir, "password");
        if (!File.Exists(Path.Combine(pgData, "PG_VERSION")))
        {
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            await File.WriteAllTextAsync(passwordFile, password, ct);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            if (Directory.Exists(pgData)) Directory.Delete(pgData, recursive: true); // a half-made cluster from an interrupted initdb
            HandOver(_dataDir);
            await RunAsync("initdb", ["-D", pgData, "-U", SuperUser, "--pwfile", passwordFile,
                "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"], ct);
        }
        var pw = (await File.ReadAllTextAsync(passwordFile, ct)).Trim();

        // A server left running by a killed process holds the data folder: stop it, then start afresh.
        if (await TryRunAsync("pg_ctl", ["-D", pgData, "status"], ct))
            await RunAsync("pg_ctl", ["-D", pgData, "-m", "fast", "-w", "stop"], ct);

        var port = FreeLoopbackPort();
        var log = Path.Combine(_dataDir, "postgres.log");
        HandOver(_dataDir);
        // Sockets live in the data folder: /var/run/postgresql may not exist or be writable.
        var options = $"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{_dataDir}' " +
                      "-c max_connections=200 -c shared_buffers=128MB";
        await RunAsync("pg_ctl", ["-D", pgData, "-l", log, "-w", "-t", "60", "-o", options, "start"], ct);
        _started = true;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = SuperUser, Password = pw, Database = "postgres",
        }.ConnectionString;
    }

    /// <summary>Creates the database if it does not exist and returns a connection string for it.</summary>
    public async Task<string> EnsureDatabaseAsync(string name, CancellationToken ct = default)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync(ct);
        await using (var check = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", conn))
        {
            check.Parameters.Add(new NpgsqlParameter { Value = name });
            if (await check.ExecuteScalarAsync(ct) is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "")}\"", conn);
                await create.ExecuteNonQueryAsync(ct);
            }
        }
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_started) return;
        _started = false;
        try
        {
            await RunAsync("pg_ctl", ["-D", Path.Combine(_dataDir, "data"), "-m", "fast", "-w", "stop"], CancellationToken.None);
        }
        catch (PostgresUnavailableException)
        {
            // Already gone (killed with us); nothing left to stop.
        }
    }

    private void HandOver(string dir)
    {
        if (!_asPostgresUser) return;
        RunRaw("chown", ["-R", "postgres:postgres", dir]).WaitForExit();
    }

    private async Task<bool> TryRunAsync(string tool, string[] args, CancellationToken ct)
    {
        try { await RunAsync(tool, args, ct); return true; }
        catch (PostgresUnavailableException) { return false; }
    }

    private async Task RunAsync(string tool, string[] args, CancellationToken ct)
    {
        var exe = Path.Combine(_binDir, tool);
        using var p = _asPostgresUser ? RunRaw("runuser", ["-u", "postgres", "--", exe, .. args]) : RunRaw(exe, args);
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
            throw new PostgresUnavailableException(
                $"{tool} failed with exit code {p.ExitCode}: {(await stderr).Trim()} {(await stdout).Trim()} (data folder {_dataDir})");
    }

    private static Process RunRaw(string exe, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new PostgresUnavailableException($"could not start {exe}");
    }

    private static int FreeLoopbackPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

public sealed class PostgresUnavailableException(string message) : Exception(message);
