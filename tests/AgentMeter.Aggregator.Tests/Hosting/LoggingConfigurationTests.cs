using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Hosting;

/// <summary>
/// The real binary, started from a directory that holds no appsettings.json: it still reads the one
/// next to it, so ASP.NET Core's per-request lines are gone and the app's own Information lines stay.
/// </summary>
public partial class LoggingConfigurationTests
{
    [Fact]
    public async Task AppsettingsNextToTheBinaryQuietsRequestLogsFromAnyWorkingDirectory()
    {
        var connectionString = await PostgresCluster.CreateDatabaseAsync("logs");
        var workDir = Directory.CreateTempSubdirectory("agentmeter-cwd-").FullName;
        var output = new StringBuilder();
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workDir,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "agentmeter-aggregator.dll"), "serve", "--urls", "http://127.0.0.1:0" })
            psi.ArgumentList.Add(a);
        psi.Environment["ConnectionStrings__Postgres"] = connectionString;
        psi.Environment["Otlp__GrpcPort"] = "0"; // aggregators run side by side
        foreach (var inherited in new[] { "ASPNETCORE_HTTP_PORTS", "HTTP_PORTS", "Logging__LogLevel__Default", "Logging__LogLevel__Microsoft.AspNetCore" })
            psi.Environment.Remove(inherited);
        using var child = Process.Start(psi)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Collect(string? line)
        {
            if (line is null) return;
            lock (output) output.AppendLine(line);
            if (ListeningOn().Match(line) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        }
        child.OutputDataReceived += (_, e) => Collect(e.Data);
        child.ErrorDataReceived += (_, e) => Collect(e.Data);
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using (var client = new HttpClient { BaseAddress = address })
                Assert.Equal("ok", await client.GetStringAsync("/healthz"));
            // SIGTERM: the host logs its shutdown after the request and flushes the console logger.
            Process.Start("kill", ["-TERM", child.Id.ToString()])!.WaitForExit();
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            Directory.Delete(workDir, recursive: true);
        }

        var log = output.ToString();
        Assert.Contains("Application is shutting down", log);
        Assert.Contains("Applied migration 0001_core", log); // the app's own category at Information
        Assert.DoesNotContain("Request starting", log);
        Assert.DoesNotContain("Microsoft.AspNetCore", log);
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}
