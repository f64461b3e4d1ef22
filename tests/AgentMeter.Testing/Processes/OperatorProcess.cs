using System.Diagnostics;
using AgentMeter.Testing.FakeApi;

namespace AgentMeter.Testing.Processes;

/// <summary>
/// A built agentmeter-operator started as its own process against the fake API server, through a kubeconfig as in a
/// real install: the Native AOT binary (<c>make publish-operator</c>) or the JIT build (<c>dotnet …dll</c>).
/// </summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    /// <summary>Where <c>make publish-operator</c> puts the Native AOT binary.</summary>
    public static string NativeBinary => Path.Combine(RepoPaths.Root, "artifacts", "operator", "agentmeter-operator");

    /// <summary>The JIT build of <paramref name="configuration"/> (Debug for the tests, Release for the bench).</summary>
    public static string JitAssembly(string configuration) =>
        Path.Combine(RepoPaths.Root, "src", "Operator", "bin", configuration, "net10.0", "agentmeter-operator.dll");

    private readonly string _kubeconfig;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    public Process Process { get; }

    private OperatorProcess(Process process, string kubeconfig)
    {
        Process = process;
        _kubeconfig = kubeconfig;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>
    /// Starts <paramref name="command"/> (the binary, or <c>dotnet</c> and the assembly) with <c>run</c>, configured by
    /// environment variables (<c>Operator__Namespace</c> …) as the chart configures the pod.
    /// </summary>
    public static OperatorProcess Start(FakeApiServer api, IEnumerable<string> command, IReadOnlyDictionary<string, string> environment)
    {
        var kubeconfig = api.WriteKubeconfig("operator");
        var parts = command.ToList();
        var start = new ProcessStartInfo(parts[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in parts.Skip(1).Append("run")) start.ArgumentList.Add(argument);
        start.Environment["KUBECONFIG"] = kubeconfig;
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        foreach (var (key, value) in environment) start.Environment[key] = value;
        return new OperatorProcess(Process.Start(start)!, kubeconfig);
    }

    /// <summary>Everything the process printed; only complete once it has exited.</summary>
    public async Task<string> OutputAsync() => $"{await _stdout}\n{await _stderr}";

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync();
        Process.Dispose();
        File.Delete(_kubeconfig);
    }
}
