using System.Text.Json.Nodes;
using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

public class InstallDocTests
{
    private static readonly string Doc = File.ReadAllText(Path.Combine(Repo.Root, "docs", "install.md"));

    // A value is documented when it, or a map it belongs to (operator.resources), has a row of the
    // configuration table.
    [Fact]
    public void EveryValueHasARowInTheConfigurationTable()
    {
        var values = Yaml.Objects(File.ReadAllText(Path.Combine(Repo.Chart, "values.yaml"))).Single();
        var missing = Leaves(values, "")
            .Where(path => !Ancestors(path).Any(p => Doc.Contains($"| `{p}` |", StringComparison.Ordinal)))
            .ToList();
        Assert.True(missing.Count == 0, $"docs/install.md has no row for: {string.Join(", ", missing)}");
    }

    [Fact]
    public void EveryTableRowIsAValue()
    {
        var values = Yaml.Objects(File.ReadAllText(Path.Combine(Repo.Chart, "values.yaml"))).Single();
        var rows = Doc.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .Select(l => l.Split('`')[1])
            .Where(k => !k.StartsWith("make ", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(rows);
        foreach (var row in rows)
            Assert.True(values.At(row) is not null, $"docs/install.md documents `{row}`, which values.yaml does not have");
    }

    private static IEnumerable<string> Leaves(JsonNode? node, string path) =>
        node is JsonObject o && o.Count > 0
            ? o.SelectMany(kv => Leaves(kv.Value, path.Length == 0 ? kv.Key : $"{path}.{kv.Key}"))
            : [path];

    private static IEnumerable<string> Ancestors(string path)
    {
        for (var p = path; p.Length > 0; p = p.Contains('.') ? p[..p.LastIndexOf('.')] : "")
            yield return p;
    }
}
