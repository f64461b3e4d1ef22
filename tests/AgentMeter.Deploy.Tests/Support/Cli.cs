using System.Diagnostics;

namespace AgentMeter.Deploy.Tests.Support;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string Describe(string command) => $"`{command}` exited {ExitCode}\n{Stderr}\n{Stdout}";
}

/// <summary>Runs helm and kubectl as a user would, from the repository root.</summary>
public static class Cli
{
    public static CliResult Run(string file, params string[] args)
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
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout, stderr.Result);
    }

    /// <summary>Runs and returns stdout; a non-zero exit fails the test with the tool's own message.</summary>
    public static string Succeed(string file, params string[] args)
    {
        var result = Run(file, args);
        Assert.True(result.ExitCode == 0, result.Describe($"{Path.GetFileName(file)} {string.Join(' ', args)}"));
        return result.Stdout;
    }
}
