
namespace AgentMeter.Deploy.Tests.Support;

/// <summary>Paths of the repository under test and of the tools `make tools` puts in bin/.</summary>
public static class Repo
{
    public static string Root => RepoPaths.Root;

    public static string Chart => Path.Combine(Root, "charts", "agentmeter");
    public static string ProductionValues => Path.Combine(Chart, "ci", "production-values.yaml");
    public static string ConfigCrds => Path.Combine(Root, "config", "crds");
    public static string ConfigRbac => Path.Combine(Root, "config", "rbac");
    public static string ConfigDefault => Path.Combine(Root, "config", "default");

    /// <summary>
    /// agentmeter-operator as built next to these tests (the project references it for the build order):
    /// src/Operator/bin/&lt;configuration&gt;/net10.0/.
    /// </summary>
    public static string OperatorDll =>
        Path.Combine(Root, "src", "Operator", "bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "agentmeter-operator.dll");

    public static string Samples => Path.Combine(Root, "config", "samples");

    public static string Helm => Tool("helm");
    public static string Kubectl => Tool("kubectl");

    /// <summary>The YAML files of a config folder, kustomization.yaml aside, by file name.</summary>
    public static SortedDictionary<string, string> ManifestFiles(string folder) =>
        new(Directory.Exists(folder)
                ? Directory.GetFiles(folder, "*.yaml")
                    .Where(f => Path.GetFileName(f) != "kustomization.yaml")
                    .ToDictionary(f => Path.GetFileName(f), File.ReadAllText)
                : new Dictionary<string, string>(),
            StringComparer.Ordinal);

    // The tests use the pinned helm v4 and kubectl 1.33 of bin/, never whatever a machine has on PATH.
    private static string Tool(string name)
    {
        var path = Path.Combine(Root, "bin", name);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{path} is missing: run `make tools` (it fetches helm and kubectl into bin/).");
        return path;
    }
}
