using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentMeter.Testing.Processes;

/// <summary>
/// The real <c>agentmeter-aggregator</c> binary (built beside the tests or the bench) as its own process on a free
/// loopback port: either on a database the caller gives, or on its private PostgreSQL in a fresh data folder. For
/// what only a process shows: its memory as the kernel counts it, its start-up, the binary as shipped. Stopped with
/// SIGTERM, so a private PostgreSQL stops with it.
/// </summary>
public sealed class AggregatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string? _dataDirectory;

    private AggregatorProcess(Process process, string baseUrl, string? dataDirectory)
    {
        _process = process;
        BaseUrl = baseUrl;
        _dataDirectory = dataDirectory;
        process.OutputDataReceived += (_, line) => Append(line.Data);
        process.ErrorDataReceived += (_, line) => Append(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string BaseUrl { get; }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Runs <c>serve</c> on the database of <paramref name="connectionString"/> and waits for /readyz.</summary>
    public static Task<AggregatorProcess> StartAsync(string connectionString, IReadOnlyDictionary<string, string> environment) =>
        StartAsync("serve", [], new Dictionary<string, string>(environment)
        {
            ["ConnectionStrings__Postgres"] = connectionString,
            ["Logging__LogLevel__Default"] = environment.GetValueOrDefault("Logging__LogLevel__Default", "Warning"),
        }, dataDirectory: null);

    /// <summary>Runs <paramref name="verb"/> on a private PostgreSQL of its own and waits for /readyz.</summary>
    public static Task<AggregatorProcess> StartAsync(string verb, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment) =>
        StartAsync(verb, args, environment, Path.Combine(Path.GetTempPath(), $"agentmeter-tests-aggregator-{Guid.NewGuid():N}"));

    private static async Task<AggregatorProcess> StartAsync(string verb, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, string? dataDirectory)
    {
        var binary = Path.Combine(AppContext.BaseDirectory, "agentmeter-aggregator.dll");
        var baseUrl = $"http://127.0.0.1:{FreePort()}";
        var start = new ProcessStartInfo("dotnet", [binary, verb, .. args, "--urls", baseUrl])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.Environment["Otlp__GrpcPort"] = "0"; // aggregators run side by side
        start.Environment.Remove("ConnectionStrings__Postgres");
        if (dataDirectory is not null)
        {
            start.Environment["Database__DataDirectory"] = dataDirectory;
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var aggregator = new AggregatorProcess(Process.Start(start)!, baseUrl, dataDirectory);
        try
        {
            await aggregator.WaitReadyAsync(TimeSpan.FromMinutes(3));
        }
        catch
        {
            await aggregator.DisposeAsync();
            throw;
        }

        return aggregator;
    }

    /// <summary>Peak resident memory since the start: the kernel's high-water mark (VmHWM of /proc/PID/status).</summary>
    public long PeakResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"agentmeter-aggregator exited with {_process.ExitCode}:\n{Log}");
            }

            try
            {
                using var response = await http.GetAsync($"{BaseUrl}/readyz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"agentmeter-aggregator not ready at {BaseUrl}/readyz after {timeout}:\n{Log}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: ASP.NET Core shuts down gracefully and the aggregator stops its PostgreSQL.
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        if (_dataDirectory is null)
        {
            return;
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // the aggregator never created it
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log) _log.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
