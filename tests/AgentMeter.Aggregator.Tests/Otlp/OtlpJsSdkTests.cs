using System.Diagnostics;
using System.Text.Json;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Otlp;

/// <summary>
/// The OpenTelemetry JS SDK as the client (tests/otlp-js, run with node): its OTLP/HTTP exporter
/// sends OTLP/JSON — hex ids, 64-bit integers as strings or numbers, enums as integers. The same
/// scenario as the .NET SDK, exported twice, aggregates to the same figures.
/// </summary>
public sealed class OtlpJsSdkTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly string Client = Path.Combine(FindRepo(), "tests", "otlp-js");

    [Fact]
    public async Task SpansExportedTwiceAsOtlpJsonAreAggregatedExactlyOnce()
    {
        var day = new DateOnly(2026, 10, 7);
        var scenario = new GenAiScenario(day);
        await using var host = await OtlpHost.StartAsync(db.ConnectionString, scenario.RatesYaml);
        using var folder = new TempFolder();
        var plan = folder.Write("plan.json", JsonSerializer.Serialize(new
        {
            url = host.TracesUrl.ToString(),
            token = OtlpHost.IngestToken,
            resource = GenAiScenario.Resource,
            exports = 2,
            spans = scenario.Spans.Select(s => new
            {
                name = s.Name, kind = s.Kind, attributes = s.Attributes, error = s.Error,
                startMs = s.Start.ToUnixTimeMilliseconds(), endMs = s.Start.Add(s.Duration).ToUnixTimeMilliseconds(),
            }),
        }));

        var (exit, output) = await RunNodeAsync("export-spans.mjs", plan);

        Assert.True(exit == 0, output);
        Assert.Equal(2, output.Split('\n').Count(l => l.StartsWith($"export ") && l.Contains($"{scenario.Spans.Count} spans, code 0")));
        await host.AssertScenarioAsync(day);
    }

    private static async Task<(int Exit, string Output)> RunNodeAsync(params string[] args)
    {
        if (!File.Exists(Path.Combine(Client, "node_modules", ".package-lock.json")))
            Assert.Fail($"the OpenTelemetry JS SDK is not installed in {Client}: run `make test-deps` (npm ci), as `make test` does");
        var psi = new ProcessStartInfo("node") { WorkingDirectory = Client, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var node = Process.Start(psi)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await node.WaitForExitAsync(timeout.Token);
        return (node.ExitCode, await stdout + await stderr);
    }

    private static string FindRepo()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "AgentMeter.slnx"))) dir = Path.GetDirectoryName(dir)!;
        return dir;
    }
}
