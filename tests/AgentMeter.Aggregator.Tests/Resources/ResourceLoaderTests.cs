using AgentMeter.Aggregator.Resources;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Aggregator.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMeter.Aggregator.Tests.Resources;

public class ResourceLoaderTests
{
    private const string Good = """
        apiVersion: agentmeter.io/v1alpha1
        kind: CostRate
        metadata:
          name: gpt-4o-2025
        spec:
          model: gpt-4o
          inputPerMillionTokens: "2.50"
          outputPerMillionTokens: 10
          effectiveFrom: "2025-01-01"
        ---
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata:
          name: daily-cost
          namespace: team-a
        spec:
          metric: cost
          threshold: "100"
          window: 24h
          groupBy: agent
          webhooks:
            - name: oncall
              url: https://hooks.example.com/x
        ---
        apiVersion: agentmeter.io/v1alpha1
        kind: RetentionPolicy
        metadata:
          name: default
        spec:
          dailyRetentionDays: 30
        """;

    private static LoadedResources Load(string yaml) => ResourceDocuments.Read(yaml, "test.yaml");

    [Theory]
    [InlineData("https://attacker.example/x", null, false)]
    [InlineData("http://events.pagerduty.com/v2/enqueue", null, false)]
    [InlineData("https://events.eu.pagerduty.com/v2/enqueue", null, true)]
    [InlineData("https://pd-relay.internal/v2/enqueue", null, false)]
    [InlineData("https://pd-relay.internal/v2/enqueue", "pd-relay.internal", true)]
    public void APagerDutyRoutingKeyOnlyGoesToPagerDutyOrAnAllowedHost(string url, string? allowed, bool loads)
    {
        var yaml = $$"""
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: paged, namespace: team-a}
            spec:
              metric: cost
              threshold: "1"
              webhooks:
                - name: oncall
                  format: pagerduty
                  url: {{url}}
                  routingKeySecretRef: {name: agentmeter-database, key: connection-string}
            """;
        var rules = new AgentMeter.Entities.Validation.ResourceRules(allowed is null ? [] : [allowed]);
        var loaded = ResourceDocuments.Read(yaml, "test.yaml", rules);
        Assert.Equal(loads, loaded.Resources.Count == 1);
        if (!loads)
        {
            var problem = Assert.Single(loaded.Problems);
            Assert.Equal("spec.webhooks[0].url", problem.Field);
            Assert.Contains("must be on https://events.pagerduty.com, https://events.eu.pagerduty.com", problem.Problem);
        }
    }

    [Theory]
    [InlineData("agentId", "a\nb")]
    [InlineData("toolName", "x\"} or vector(1) #")]
    [InlineData("model", "m`{}")]
    public void FilterValuesThatWouldBreakPromQlAreRefused(string field, string value)
    {
        // The value as a JSON string, which YAML reads the same way (escapes included).
        var yaml = $$"""
            apiVersion: agentmeter.io/v1alpha1
            kind: UsageAlert
            metadata: {name: calls, namespace: team-a}
            spec:
              metric: callCount
              threshold: "1"
              filter:
                {{field}}: {{System.Text.Json.JsonSerializer.Serialize(value)}}
            """;
        var problem = Assert.Single(Load(yaml).Problems);
        Assert.Equal($"spec.filter.{field}", problem.Field);
        Assert.Contains("must not contain control characters (such as a newline)", problem.Problem);
    }

    [Fact]
    public void LoadsEveryKindOfAMultiDocumentFile()
    {
        var loaded = Load(Good);
        Assert.Empty(loaded.Problems);
        var rate = Assert.Single(loaded.Resources.OfType<CostRate>());
        Assert.Equal(2.50m, rate.Spec.InputPerMillionTokens!.Value.Value);
        Assert.Equal("10", rate.Spec.OutputPerMillionTokens!.Value.Text);
        Assert.Equal("USD", rate.Spec.Currency);
        var alert = Assert.Single(loaded.Resources.OfType<UsageAlert>());
        Assert.Equal("team-a", alert.Metadata.NamespaceProperty);
        Assert.Equal("https://hooks.example.com/x", alert.Spec.Webhooks![0].Url);
        var policy = Assert.Single(loaded.Resources.OfType<RetentionPolicy>());
        Assert.Equal(30, policy.Spec.DailyRetentionDays);
        Assert.True(policy.Spec.MonthlyRollup); // default of the design
    }

    [Theory]
    [InlineData("inputPerMillionTokens: \"2,50\"", "spec.inputPerMillionTokens", "not a non-negative decimal")]
    [InlineData("currency: dollars", "spec.currency", "ISO 4217")]
    [InlineData("effectiveFrom: \"next week\"", "spec.effectiveFrom", "YYYY-MM-DD")]
    [InlineData("serverLabel: github", "spec.model", "exactly one of")]
    [InlineData("inputPrice: \"1\"", "spec.inputPrice", "")]
    public void ABadDocumentIsReportedWithFileNameFieldAndSkipped(string line, string field, string problem)
    {
        var yaml = Good.Replace("  effectiveFrom: \"2025-01-01\"", $"  effectiveFrom: \"2025-01-01\"\n  {line}")
            .Replace("effectiveFrom: \"2025-01-01\"\n  effectiveFrom", "effectiveFrom");
        var loaded = Load(yaml);
        var p = Assert.Single(loaded.Problems, x => x.Field == field);
        Assert.Equal(("test.yaml", 0, "CostRate", "gpt-4o-2025"), (p.File, p.Document, p.Kind, p.Name));
        Assert.Contains(problem, p.Problem);
        Assert.Empty(loaded.Resources.OfType<CostRate>());
        Assert.Single(loaded.Resources.OfType<UsageAlert>()); // the valid rest stays
        Assert.Single(loaded.Resources.OfType<RetentionPolicy>());
    }

    [Fact]
    public void ForeignKindsAndBrokenYamlAreReportedNotFatal()
    {
        var loaded = Load("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n---\n" + Good);
        Assert.Contains(loaded.Problems, p => p.Field == "apiVersion" && p.Kind == "Secret");
        Assert.Equal(3, loaded.Resources.Count);
        var broken = Load("apiVersion: agentmeter.io/v1alpha1\nkind: [unclosed");
        Assert.Contains("not valid YAML", Assert.Single(broken.Problems).Problem);
    }

    [Fact]
    public void DocumentIndicesCountEmptyDocumentsAndYamlErrorsKeepTheLineAndTheDocumentsBefore()
    {
        var text = "---\n---\n" + Good.Replace("dailyRetentionDays: 30", "dailyRetentionDays: -1") + "\n---\nkind: CostRate: x\n";
        var brokenLine = Array.IndexOf(text.Split('\n'), "kind: CostRate: x") + 1;
        var loaded = Load(text);
        Assert.Equal(2, loaded.Resources.Count); // the CostRate and UsageAlert before the broken document
        Assert.Equal(3, Assert.Single(loaded.Problems, p => p.Field == "spec.dailyRetentionDays").Document);
        var yaml = Assert.Single(loaded.Problems, p => p.Problem.Contains("not valid YAML"));
        Assert.Equal((4, $"line {brokenLine}"), (yaml.Document, yaml.Field));
    }

    [Fact]
    public void PlainDecimalsKeepTheirTextAndFloatsAreRejected()
    {
        var rate = Assert.Single(Load(Good.Replace("outputPerMillionTokens: 10", "outputPerMillionTokens: 10.50")).Resources.OfType<CostRate>());
        Assert.Equal(("10.50", 10.50m), (rate.Spec.OutputPerMillionTokens!.Value.Text, rate.Spec.OutputPerMillionTokens.Value.Value));
        var p = Assert.Single(Load(Good.Replace("outputPerMillionTokens: 10", "outputPerMillionTokens: 1e3")).Problems);
        Assert.Equal(("spec.outputPerMillionTokens", "gpt-4o-2025"), (p.Field, p.Name));
    }

    [Fact]
    public void OtherGroupsAreIgnoredButOurGroupMustBeServedAndKnown()
    {
        var loaded = Load("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: c}
            ---
            apiVersion: agentmeter.io/v1
            kind: CostRate
            metadata: {name: r}
            ---
            apiVersion: agentmeter.io/v1alpha1
            kind: CostRates
            metadata: {name: r}
            """);
        Assert.Equal([(0, true, "apiVersion"), (1, false, "apiVersion"), (2, false, "kind")],
            loaded.Problems.Select(p => (p.Document, p.Ignored, p.Field)));
        Assert.Equal("test.yaml document 1: CostRate r is skipped, apiVersion: agentmeter.io/v1 is not served; use agentmeter.io/v1alpha1",
            loaded.Problems[1].ToString());
        Assert.StartsWith("test.yaml document 0: ConfigMap c is ignored, ", loaded.Problems[0].ToString());
    }

    [Fact]
    public void StoreReloadsOnChangeAndKeepsTheLastValidVersionOfABrokenResource()
    {
        using var dir = new TempFolder();
        var file = dir.Write("rates.yaml", Good);
        var store = new ResourceStore(new ResourceOptions { Paths = [dir.Path] }, NullLogger<ResourceStore>.Instance, TimeProvider.System);
        Assert.True(store.Reload());
        Assert.False(store.Reload()); // nothing changed
        Assert.Equal(30, store.Current.Retention.Spec.DailyRetentionDays);

        File.WriteAllText(file, Good.Replace("dailyRetentionDays: 30", "dailyRetentionDays: -1").Replace("threshold: \"100\"", "threshold: \"250\""));
        Assert.True(store.Reload());
        Assert.Equal(30, store.Current.Retention.Spec.DailyRetentionDays); // last valid policy stays in force
        Assert.Equal(250m, store.Current.UsageAlerts.Single().Spec.Threshold!.Value.Value);
        Assert.Contains(store.Current.Problems, p => p.Field == "spec.dailyRetentionDays");

        File.WriteAllText(file, "");
        Assert.True(store.Reload());
        Assert.Empty(store.Current.CostRates); // deleted, not broken: gone
        Assert.Equal(90, store.Current.Retention.Spec.DailyRetentionDays); // design default
    }
}
