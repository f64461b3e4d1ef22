using System.Diagnostics;

namespace AgentMeter.Deploy.Tests.Support;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string Describe(string command) => $"`{command}` exited {ExitCode}\n{Stderr}\n{Stdout}";
}

/// <summary>Runs helm and kubectl as a user would, from the repository root.</summary>
public static class Cli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static CliResult Run(string file, params string[] args) => Run(file, new Dictionary<string, string>(), args);

    public static CliResult Run(string file, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = Repo.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        // No kubeconfig, no cluster: everything these tests run is offline.
        start.Environment["KUBECONFIG"] = "/dev/null";
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "agentmeter-helm", "cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(Path.GetTempPath(), "agentmeter-helm", "config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(Path.GetTempPath(), "agentmeter-helm", "data");
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"`{file} {string.Join(' ', args)}` did not finish within {Timeout.TotalSeconds}s");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs and returns stdout; a non-zero exit fails the test with the tool's own message.</summary>
    public static string Succeed(string file, params string[] args)
    {
        var result = Run(file, args);
        Assert.True(result.ExitCode == 0, result.Describe($"{Path.GetFileName(file)} {string.Join(' ', args)}"));
        return result.Stdout;
    }
}
