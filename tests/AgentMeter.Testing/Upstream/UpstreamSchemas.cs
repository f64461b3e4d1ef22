using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentMeter.Testing.Upstream;

/// <summary>
/// prometheus-operator's own CRD schemas, as the validators npm <c>@kubernetes-models/prometheus-operator</c>
/// generates from them, run with node (tests/upstream-schemas, installed by <c>make test-deps</c>): the
/// PrometheusRules and ServiceMonitors we generate are checked against upstream, not against our reading of it.
/// </summary>
public static class UpstreamSchemas
{
    private static string Folder => Path.Combine(RepoPaths.Root, "tests", "upstream-schemas");

    /// <summary>Per object, in order, its problems ("/json/pointer message"); empty when the upstream schema accepts it.</summary>
    public static List<List<string>> Problems(IReadOnlyList<JsonNode> objects)
    {
        if (!Directory.Exists(Path.Combine(Folder, "node_modules", "@kubernetes-models", "prometheus-operator")))
            throw new InvalidOperationException($"the upstream schema validators are not installed in {Folder}: run `make test-deps`");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Folder, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.ArgumentList.Add("validate.mjs");
        using var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        node.StandardInput.Write(new JsonArray(objects.Select(o => o.DeepClone()).ToArray()).ToJsonString());
        node.StandardInput.Close();
        if (!node.WaitForExit(60_000)) { node.Kill(); throw new TimeoutException("the upstream schema check ran over 60 s"); }
        if (node.ExitCode != 0) throw new InvalidOperationException($"the upstream schema check failed (exit {node.ExitCode}): {stderr.Result}");
        return JsonSerializer.Deserialize<List<List<string>>>(stdout.Result)!;
    }

    public static List<string> Problems(JsonNode o) => Problems([o])[0];
}
