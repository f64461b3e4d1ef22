using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentMeter.Dashboard.Tests.Infrastructure;

/// <summary>
/// The real <c>agentmeter-aggregator</c> binary as its own process on a free loopback port, on its private
/// PostgreSQL in a fresh data folder, with tokens in its environment. Stopped with SIGTERM, so it stops its
/// PostgreSQL too.
/// </summary>
public sealed class AggregatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _dataDirectory;

    private AggregatorProcess(Process process, string baseUrl, string dataDirectory)
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

    public static async Task<AggregatorProcess> StartAsync(string verb, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var binary = Path.Combine(AppContext.BaseDirectory, "agentmeter-aggregator.dll");
        var baseUrl = $"http://127.0.0.1:{FreePort()}";
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"agentmeter-dashboard-tests-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo("dotnet", [binary, verb, .. args, "--urls", baseUrl])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.Environment["Database__DataDirectory"] = dataDirectory;
        start.Environment["Otlp__GrpcPort"] = "0"; // aggregators run side by side
        start.Environment.Remove("ConnectionStrings__Postgres");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var aggregator = new AggregatorProcess(Process.Start(start)!, baseUrl, dataDirectory);
        await aggregator.WaitReadyAsync(TimeSpan.FromMinutes(3));
        return aggregator;
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
