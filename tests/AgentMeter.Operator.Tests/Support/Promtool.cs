using System.Diagnostics;

namespace AgentMeter.Operator.Tests.Support;

/// <summary>Runs the real <c>promtool</c> (Debian's prometheus package; <c>.ci/run</c> installs it).</summary>
public static class Promtool
{
    public static string Path { get; } = File.Exists("/usr/bin/promtool") ? "/usr/bin/promtool" : "promtool";

    public static (int ExitCode, string Output) Run(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(Path) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("promtool did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000)) { process.Kill(); throw new TimeoutException("promtool ran over 60 s"); }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
