using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Commands;
using Microsoft.Extensions.Configuration;
using ResourceLoader = AgentMeter.Aggregator.Resources.ResourceLoader;

namespace AgentMeter.Operator.Tests.Contracts;

/// <summary>The operator's <c>render -f</c> and the aggregator's <c>--resources</c> read the same files with one reader.</summary>
public class RenderAndAggregatorAgreeTests
{
    private const string Files = """
        apiVersion: v1
        kind: Secret
        metadata: {name: pd, namespace: team-a}
        stringData: {routing-key: R0UT1NG}
        ---
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata: {name: typo}
        spec: {model: gpt-4o, inputPerMillionTokens: "1", outputPerMillionTokens: "2", effectiveFrom: "2026-01-01", inputPrice: "1"}
        ---
        ---
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata: {name: bad, namespace: team-a}
        spec: {metric: errorRate, threshold: "3", window: 1h}
        ---
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata: {name: good, namespace: team-a}
        spec: {metric: callCount, threshold: "10", window: 1h}
        """;

    [Fact]
    public void RenderReportsExactlyTheProblemsTheAggregatorReports()
    {
        var dir = Directory.CreateTempSubdirectory("agentmeter-agree-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "resources.yaml"), Files);
            File.WriteAllText(Path.Combine(dir, "broken.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\nkind: CostRate: x\nmetadata: {name: m}\n");

            var aggregator = ResourceLoader.LoadPaths([dir]);
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            var exit = RenderCommand.Run(["-f", dir], stdout, stderr,
                new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Operator:Namespace"] = "agentmeter" }).Build());

            Assert.Equal(1, exit);
            // The same documents are skipped for the same reasons, in the same words.
            var errors = aggregator.Problems.Where(p => !p.Ignored).ToList();
            Assert.Equal(errors.Select(p => $"render: {p}"),
                stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(" is skipped, ")));
            Assert.Equal(
                new (string, int, string?)[] { ("line 5", 1, null), ("spec.inputPrice", 1, "typo"), ("spec.threshold", 3, "bad") },
                errors.Select(p => (p.Field, p.Document, p.Name)).Order());
            Assert.Contains($"render: {Path.Combine(dir, "resources.yaml")} document 3 (namespace team-a): UsageAlert bad is skipped, spec.threshold: errorRate is a ratio from 0 to 1, got 3", stderr.ToString());

            // Documents of other groups: listed by the aggregator as ignored, passed over (the Secret used) by render.
            Assert.Equal([("ConfigMap", "c", 0), ("Secret", "pd", 0)],
                aggregator.Problems.Where(p => p.Ignored).Select(p => (p.Kind, p.Name, p.Document)).Order());
            Assert.DoesNotContain("ConfigMap c", stderr.ToString());
            Assert.DoesNotContain("Secret pd", stderr.ToString());
            Assert.DoesNotContain("R0UT1NG", stderr.ToString());

            // Both keep the valid rest.
            Assert.Equal("good", Assert.Single(aggregator.Resources).Metadata.Name);
            Assert.Contains("name: agentmeter-good", stdout.ToString());
            Assert.DoesNotContain("agentmeter-bad", stdout.ToString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
