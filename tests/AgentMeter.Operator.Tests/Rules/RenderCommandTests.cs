using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Commands;
using Microsoft.Extensions.Configuration;

namespace AgentMeter.Operator.Tests.Rules;

public class RenderCommandTests
{
    /// <summary>Runs render with a fixed operator configuration.</summary>
    internal static (int Exit, string Out, string Err) Render(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var exit = RenderCommand.Run(args, stdout, stderr, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Operator:Namespace"] = "agentmeter", ["Aggregator:Image"] = "registry.example/agentmeter:1.2.3",
        }).Build());
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void MissingPathAndMissingFlagAreClearErrors()
    {
        var missing = Render("-f", "/nonexistent/alerts.yaml");
        Assert.Equal(2, missing.Exit);
        Assert.Contains("/nonexistent/alerts.yaml: no such file or folder", missing.Err);
        var none = Render();
        Assert.Equal(2, none.Exit);
        Assert.Contains("no -f PATH given", none.Err);
    }

    [Fact]
    public void InvalidResourcesAreReportedAndLeftOutLikeRunDoes()
    {
        var file = Path.GetTempFileName() + ".yaml";
        File.WriteAllText(file, """
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: bad, namespace: team-a}
            spec: {metric: errorRate, threshold: "3", window: 1h}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: good, namespace: team-a}
            spec: {metric: callCount, threshold: "10", window: 1h}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlerts
            metadata: {name: typo}
            """);
        try
        {
            var (exit, stdout, stderr) = Render("-f", file);
            Assert.Equal(1, exit); // the unknown kind is a document error
            Assert.Contains("kind \"UsageAlerts\" is not one of", stderr);
            Assert.Contains("UsageAlert bad is skipped, spec.threshold: errorRate is a ratio from 0 to 1, got 3", stderr);
            var docs = YamlJson.ReadDocuments(stdout);
            Assert.Contains(docs, d => d["metadata"]!["name"]!.GetValue<string>() == "agentmeter-good");
            Assert.DoesNotContain(docs, d => d["metadata"]!["name"]!.GetValue<string>() == "agentmeter-bad");
            Assert.Contains("registry.example/agentmeter:1.2.3", stdout);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
