using System.Text.Json.Nodes;

namespace AgentMeter.Deploy.Tests.Support;

/// <summary>The objects one way of installing produces: rendered YAML and its parsed documents.</summary>
public sealed class Install(string name, string yaml)
{
    public string Name { get; } = name;
    public string Text { get; } = yaml;
    public IReadOnlyList<JsonObject> Objects { get; } = Yaml.Objects(yaml);

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => o.Kind() == kind);

    public JsonObject Single(string kind, string name)
    {
        var matches = OfKind(kind).Where(o => o.Name() == name).ToList();
        Assert.True(matches.Count == 1, $"{Name}: expected one {kind} {name}, found {matches.Count}");
        return matches[0];
    }

    public override string ToString() => Name;
}

/// <summary>The installs under test, each rendered once per test run.</summary>
public static class Installs
{
    // The release name and namespace of the README's `helm install`: the chart then names its objects
    // exactly as config/default does.
    public const string Release = "agentmeter";
    public const string Namespace = "agentmeter-system";

    private static readonly Lazy<Install> chartDefault = new(() => Chart("helm template (default values)"));
    private static readonly Lazy<Install> chartProduction =
        new(() => Chart("helm template (ci/production-values.yaml)", "-f", Repo.ProductionValues));
    private static readonly Lazy<Install> kustomize =
        new(() => new Install("kubectl kustomize config/default", Cli.Succeed(Repo.Kubectl, "kustomize", Repo.ConfigDefault)));

    public static Install ChartDefault => chartDefault.Value;
    public static Install ChartProduction => chartProduction.Value;
    public static Install Kustomize => kustomize.Value;

    public static Install ByName(string name) => name switch
    {
        "chart-default" => ChartDefault,
        "chart-production" => ChartProduction,
        "kustomize" => Kustomize,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    public static TheoryData<string> All => new("chart-default", "chart-production", "kustomize");

    public static Install Chart(string name, params string[] extraArgs) =>
        new(name, Cli.Succeed(Repo.Helm, ["template", Release, Repo.Chart, "--namespace", Namespace, "--include-crds", .. extraArgs]));
}
