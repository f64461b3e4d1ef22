using System.Diagnostics;

namespace AgentMeter.Bench;

/// <summary>
/// The real aggregator binary as a child process, with its peak resident memory (VmHWM of
/// /proc/PID/status, sampled every 50 ms: the kernel keeps the high-water mark, so the last
/// sample before exit is the peak up to then).
/// </summary>
public sealed class AggregatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private readonly List<string> _output = [];
    public long PeakBytes { get; private set; }
    public int Pid => _process.Id;
    public IReadOnlyList<string> Output { get { lock (_output) return _output.ToList(); } }

    public AggregatorProcess(string binary, string connectionString, params string[] args)
    {
        var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ConnectionStrings__Postgres"] = connectionString;
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        psi.Environment["Logging__LogLevel__AgentMeter.Aggregator.Aggregation"] = "Information";
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {binary}");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Add(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Add(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _sampler = Task.Run(SampleAsync);
    }

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested && !_process.HasExited)
        {
            try
            {
                var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:"));
                if (line is not null) PeakBytes = Math.Max(PeakBytes, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024);
            }
            catch (IOException) { /* exited between the check and the read */ }
            await Task.Delay(50);
        }
    }

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync();
        await _stop.CancelAsync();
        await _sampler;
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        await _stop.CancelAsync();
        await _sampler;
        _process.Dispose();
    }
}
