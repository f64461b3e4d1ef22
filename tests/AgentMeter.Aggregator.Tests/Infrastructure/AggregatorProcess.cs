using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentMeter.Aggregator.Tests.Infrastructure;

/// <summary>
/// The aggregator binary (agentmeter-aggregator.dll, built beside the tests) as a child process on a
/// free loopback port against a given database, for what only a process shows: its memory as the
/// kernel counts it. Stopped with SIGTERM.
/// </summary>
public sealed class AggregatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public Uri BaseAddress { get; }

    private AggregatorProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) lock (_output) _output.AppendLine(line.Data); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) lock (_output) _output.AppendLine(line.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Starts <c>serve</c> with the environment given (settings as <c>Section__Key</c>) and waits for /readyz.</summary>
    public static async Task<AggregatorProcess> StartAsync(string connectionString, IReadOnlyDictionary<string, string> environment)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var address = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "agentmeter-aggregator.dll"), "serve", "--urls", address.ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var aggregator = new AggregatorProcess(Process.Start(start)!, address);
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            if (aggregator._process.HasExited) throw new InvalidOperationException($"the aggregator exited with {aggregator._process.ExitCode}:\n{aggregator.Output}");
            try
            {
                using var ready = await http.GetAsync("/readyz");
                if (ready.IsSuccessStatusCode) return aggregator;
            }
            catch (HttpRequestException) { /* not listening yet */ }
            if (DateTime.UtcNow > deadline)
            {
                await aggregator.DisposeAsync();
                throw new TimeoutException($"the aggregator was not ready within 2 minutes:\n{aggregator.Output}");
            }
            await Task.Delay(100);
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Peak resident memory since the start: the kernel's high-water mark (VmHWM of /proc/PID/status).</summary>
    public long PeakResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await term.WaitForExitAsync();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(grace.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }
}
