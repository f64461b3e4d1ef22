using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Deploy.Tests.Support;
using Json.Schema;

namespace AgentMeter.Deploy.Tests;

public class ValuesSchemaTests
{
    private static JsonSchema Schema() => JsonSchema.FromText(File.ReadAllText(Path.Combine(Repo.Chart, "values.schema.json")));

    private static JsonNode? Values(string path) => Yaml.Objects(File.ReadAllText(path)).Single();

    private static EvaluationResults Evaluate(JsonNode? values) =>
        Schema().Evaluate(JsonSerializer.SerializeToElement(values), new EvaluationOptions { OutputFormat = OutputFormat.List });

    private static string Errors(EvaluationResults results) =>
        string.Join("\n", (results.Details ?? []).Where(d => d.Errors is not null)
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));

    [Fact]
    public void ValuesYamlValidatesAgainstTheSchema()
    {
        var results = Evaluate(Values(Path.Combine(Repo.Chart, "values.yaml")));
        Assert.True(results.IsValid, Errors(results));
    }

    [Fact]
    public void ProductionValuesValidateAgainstTheSchema()
    {
        var results = Evaluate(Values(Repo.ProductionValues));
        Assert.True(results.IsValid, Errors(results));
    }

    [Theory]
    [InlineData("/aggregator/replicas", "two")]
    [InlineData("/operator/resyncPeriod", "5m")]
    [InlineData("/image/pullPolicy", "Sometimes")]
    [InlineData("/aggregator/resources/requests/memory", "lots")]
    public void SchemaRejectsAWrongValueInValuesYaml(string pointer, string value)
    {
        var values = Values(Path.Combine(Repo.Chart, "values.yaml"))!;
        var segments = pointer.Trim('/').Split('/');
        var parent = segments[..^1].Aggregate(values, (node, key) => node[key]!);
        parent[segments[^1]] = value;
        var results = Evaluate(values);
        Assert.False(results.IsValid);
        Assert.Contains(pointer, Errors(results));
    }

    // What a user sees when `helm install` / `helm template` gets a bad value: the path and the rule.
    [Theory]
    [InlineData("aggregator.replicas=two", "at '/aggregator/replicas': got string, want integer")]
    [InlineData("image.pullPolicy=Sometimes", "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'")]
    [InlineData("operator.resyncPeriod=5m", "at '/operator/resyncPeriod': '5m' does not match pattern")]
    [InlineData("operator.replicass=2", "additional properties 'replicass' not allowed")]
    [InlineData("aggregator.database.secretName=Bad_Name", "at '/aggregator/database/secretName': 'Bad_Name' does not match pattern")]
    [InlineData("monitoring.ruleLabels.app\\.kubernetes\\.io/team=x", "'app.kubernetes.io/team' does not match pattern")]
    public void HelmRejectsAWrongValueWithItsPath(string set, string message)
    {
        var template = Cli.Run(Repo.Helm, "template", Installs.Release, Repo.Chart, "--set", set);
        Assert.NotEqual(0, template.ExitCode);
        Assert.Contains("values don't meet the specifications of the schema", template.Stderr);
        Assert.Contains(message, template.Stderr);
        Assert.Empty(template.Stdout);

        var lint = Cli.Run(Repo.Helm, "lint", Repo.Chart, "--set", set);
        Assert.NotEqual(0, lint.ExitCode);
        Assert.Contains(message, lint.Stdout + lint.Stderr);
    }

    [Fact]
    public void SeveralOperatorReplicasWithoutLeaderElectionAreRefused()
    {
        var result = Cli.Run(Repo.Helm, "template", Installs.Release, Repo.Chart,
            "--set", "operator.replicas=2", "--set", "operator.leaderElection.enabled=false");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("operator.replicas > 1 needs operator.leaderElection.enabled=true", result.Stderr);
        Cli.Succeed(Repo.Helm, "template", Installs.Release, Repo.Chart, "--set", "operator.replicas=1", "--set", "operator.leaderElection.enabled=false");
    }
}
