using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

/// <summary>
/// `helm install agentmeter charts/agentmeter -n agentmeter-system` and `kubectl apply -k config/default`
/// install the same thing: config/crds and config/rbac are the single source of both.
/// </summary>
public class InstallsAgreeTests
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    [Fact]
    public void ChartCrdsAreTheFilesOfConfigCrds() =>
        AssertSameFiles(Repo.ConfigCrds, Path.Combine(Repo.Chart, "crds"));

    [Fact]
    public void ChartRbacFilesAreTheFilesOfConfigRbac() =>
        AssertSameFiles(Repo.ConfigRbac, Path.Combine(Repo.Chart, "files", "rbac"));

    [Fact]
    public void BothInstallsApplyTheSameCrds()
    {
        var fromConfig = Repo.ManifestFiles(Repo.ConfigCrds).Values.SelectMany(Yaml.Objects).ToList();
        Assert.True(fromConfig.Count > 0, "config/crds holds no CRD");
        var expected = ById(fromConfig);
        Assert.Equal(expected, ById(Installs.ChartDefault.OfKind("CustomResourceDefinition")));
        Assert.Equal(expected, ById(Installs.Kustomize.OfKind("CustomResourceDefinition")));
    }

    [Fact]
    public void RenderedRoleRulesAreTheRulesOfConfigRbac()
    {
        var declared = Repo.ManifestFiles(Repo.ConfigRbac).Values.SelectMany(Yaml.Objects)
            .Where(d => d.Kind() is "ClusterRole" or "Role").ToList();
        Assert.True(declared.Count > 0, "config/rbac holds no ClusterRole or Role");
        // Release "agentmeter" keeps config/'s "agentmeter…" names (other names get "agentmeter-" in front).
        var expected = declared.ToDictionary(
            d => $"{d.Kind()} {(d.Name()!.StartsWith("agentmeter", StringComparison.Ordinal) ? d.Name() : $"agentmeter-{d.Name()}")}",
            d => Json(d["rules"]));
        foreach (var install in new[] { Installs.ChartDefault, Installs.ChartProduction, Installs.Kustomize })
        {
            var rendered = install.Objects.Where(o => o.Kind() is "ClusterRole" or "Role")
                .ToDictionary(o => $"{o.Kind()} {o.Name()}", o => Json(o["rules"]));
            Assert.Equal(expected.Keys.Order(), rendered.Keys.Order());
            foreach (var (role, rules) in expected)
                Assert.True(rules == rendered[role], $"{install}: {role} rules differ from config/rbac\nexpected {rules}\nrendered {rendered[role]}");
        }
    }

    [Fact]
    public void BothInstallsBindTheSameRolesToTheSameAccount()
    {
        static Dictionary<string, string> Bindings(Install install) => install.Objects
            .Where(o => o.Kind() is "ClusterRoleBinding" or "RoleBinding")
            .ToDictionary(o => o.Id(), o => Json(new JsonObject { ["roleRef"] = o["roleRef"]?.DeepClone(), ["subjects"] = o["subjects"]?.DeepClone() }));
        var chart = Bindings(Installs.ChartDefault);
        Assert.NotEmpty(chart);
        Assert.Equal(chart, Bindings(Installs.Kustomize));
    }

    [Fact]
    public void BothInstallsHoldTheSameObjects()
    {
        // The Namespace is kustomize's own; Helm installs into one made by --create-namespace.
        var chart = Installs.ChartDefault.Objects.Select(o => o.Id()).Order().ToList();
        var kustomize = Installs.Kustomize.Objects.Where(o => o.Kind() != "Namespace").Select(o => o.Id()).Order().ToList();
        Assert.Equal(chart, kustomize);
    }

    [Fact]
    public void BothInstallsRunTheSameOperatorPod()
    {
        var chart = Installs.ChartDefault.Single("Deployment", "agentmeter-operator");
        var kustomize = Installs.Kustomize.Single("Deployment", "agentmeter-operator");
        // Whole spec: replicas, selector, pod template labels, containers, env, probes, security.
        Assert.Equal(Json(chart["spec"]), Json(kustomize["spec"]));
    }

    private static void AssertSameFiles(string config, string chart)
    {
        var expected = Repo.ManifestFiles(config);
        var actual = Repo.ManifestFiles(chart);
        Assert.True(expected.Keys.SequenceEqual(actual.Keys),
            $"{chart} holds [{string.Join(", ", actual.Keys)}] but {config} holds [{string.Join(", ", expected.Keys)}]: run `make manifests`");
        foreach (var (file, text) in expected)
            Assert.True(text == actual[file], $"{Path.Combine(chart, file)} differs from {Path.Combine(config, file)}: run `make manifests`");
    }

    private static SortedDictionary<string, string> ById(IEnumerable<JsonObject> objects) =>
        new(objects.ToDictionary(o => o.Id(), o => Json(o)), StringComparer.Ordinal);

    // Canonical text: keys sorted, so that key order (Helm's vs kustomize's) never matters.
    private static string Json(JsonNode? node) => Canonical(node)?.ToJsonString(Indented) ?? "null";

    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => KeyValuePair.Create(kv.Key, Canonical(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(Canonical).ToArray()),
        _ => node?.DeepClone(),
    };
}
