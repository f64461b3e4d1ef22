using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Tests.Rules;
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
        metadata: {name: bad, namespace: team-b}
        spec: {metric: circuitBreakerOpen, threshold: "1", groupBy: agent}
        ---
        apiVersion: agentmeter.io/v1alpha1
        kind: RetentionPolicy
        metadata: {name: default}
        spec: {dailyRetentionDays: 60}
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
            var (exit, stdout, stderr) = RenderCommandTests.Render("-f", dir);

            Assert.Equal(1, exit);
            // The same documents are skipped for the same reasons, in the same words.
            var errors = aggregator.Problems.Where(p => !p.Ignored).ToList();
            Assert.Equal(errors.Select(p => $"render: {p}"),
                stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(" is skipped, ")));
            Assert.Equal(
                new (string, int, string?)[] { ("line 5", 1, null), ("spec.groupBy", 3, "bad"), ("spec.inputPrice", 1, "typo") },
                errors.Select(p => (p.Field, p.Document, p.Name)).Order());
            Assert.Contains($"render: {Path.Combine(dir, "resources.yaml")} document 3 (namespace team-b): UsageAlert bad is skipped, spec.groupBy: circuitBreakerOpen can only be grouped by server", stderr);

            // Documents of other groups: listed by the aggregator as ignored, passed over (the Secret used) by render.
            Assert.Equal([("ConfigMap", "c", 0), ("Secret", "pd", 0)],
                aggregator.Problems.Where(p => p.Ignored).Select(p => (p.Kind, p.Name, p.Document)).Order());
            Assert.DoesNotContain("ConfigMap c", stderr);
            Assert.DoesNotContain("Secret pd", stderr);
            Assert.DoesNotContain("R0UT1NG", stderr);

            // Both keep the valid rest.
            Assert.Equal("default", Assert.Single(aggregator.Resources).Metadata.Name);
            Assert.Contains("dailyRetentionDays: 60", stdout); // the aggregator's ConfigMap render writes
            Assert.DoesNotContain("name: bad", stdout);
            Assert.DoesNotContain("agentmeter-bad", stdout);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
