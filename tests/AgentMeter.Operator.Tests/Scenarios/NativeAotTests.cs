using System.Diagnostics;
using AgentMeter.Operator.Tests.Rules;
using AgentMeter.Operator.Tests.Support;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>
/// The shipped operator is the Native AOT binary (the other tests run the operator on the JIT, in process). These run
/// that binary: what trimming or missing source-generated metadata would break shows up here. `make test` publishes it
/// first and sets AGENTMETER_REQUIRE_AOT=1, so in CI a missing binary fails instead of skipping.
/// </summary>
public class NativeAotTests
{
    private static void RequireBinary()
    {
        if (File.Exists(OperatorProcess.NativeBinary)) return;
        var message = $"no Native AOT operator at {OperatorProcess.NativeBinary}: run `make publish-operator`";
        Assert.True(Environment.GetEnvironmentVariable("AGENTMETER_REQUIRE_AOT") != "1", message);
        Skip.If(true, message);
    }

    [SkippableFact]
    public async Task RenderOfTheNativeBinaryEqualsTheJitRender()
    {
        RequireBinary();
        var start = new ProcessStartInfo(OperatorProcess.NativeBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "render", "-f", RepoPaths.Samples }) start.ArgumentList.Add(argument);
        start.Environment["Operator__Namespace"] = "agentmeter";
        start.Environment["Aggregator__Image"] = "registry.example/agentmeter:1.2.3";
        using var process = Process.Start(start)!;
        var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync();

        var jit = RenderCommandTests.Render("-f", RepoPaths.Samples);
        Assert.Equal(jit.Exit, process.ExitCode);
        Assert.Contains("kind: Deployment", jit.Out);
        Assert.Equal(jit.Out, await stdout);
        Assert.Equal(jit.Err, await stderr);
    }

    [SkippableFact]
    public async Task NativeBinaryReconcilesAgainstTheFakeApiServer()
    {
        RequireBinary();
        await using var h = await OperatorHarness.StartAsync();
        h.Aggregator.SetAlert("team-a", "calls", "Firing", "42");
        await h.CreateAsync("""
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: calls, namespace: team-a}
            spec: {metric: callCount, threshold: "10", window: 1h, groupBy: tool}
            """);
        await h.CreateAsync(File.ReadAllText(Path.Combine(RepoPaths.Samples, "costrate-example.yaml")));
        // The harness's settings, as the environment variables a pod gets.
        var environment = h.Settings("native").Where(kv => kv.Key != "urls")
            .ToDictionary(kv => kv.Key.Replace(":", "__"), kv => kv.Value!);
        await using var process = OperatorProcess.Start(h.Api, [OperatorProcess.NativeBinary], environment);

        // The namespace's hand-off is a work item of its own (handoff:team-a): it may land after the status sync.
        await OperatorHarness.WaitUntilAsync(
            () => OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "StatusSynced")?["status"]?.GetValue<string>() == "True" &&
                  h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-team-a") is not null ||
                  process.Process.HasExited,
            "status synced and the hand-off written by the native operator");
        Assert.False(process.Process.HasExited, "the native operator exited: " + (process.Process.HasExited ? await process.OutputAsync() : ""));
        var alert = h.Api.Get("usagealerts", "team-a", "calls")!;
        Assert.Equal("Firing", alert["status"]!["state"]!.GetValue<string>());
        Assert.NotNull(h.Api.Get("prometheusrules", "team-a", "agentmeter-calls"));
        Assert.Contains("name: calls", h.Api.Get("configmaps", OperatorHarness.Namespace, "agentmeter-resources-team-a")!["data"]!["resources.yaml"]!.GetValue<string>());
        Assert.Equal("native", h.Api.Get("leases", OperatorHarness.Namespace, "agentmeter-operator")!["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal("True", OperatorHarness.Condition(h.Api.Get("costrates", null, "example-model-2026-11"), "Ready")?["status"]?.GetValue<string>());
        Assert.Empty(h.Api.Errors);
    }
}
