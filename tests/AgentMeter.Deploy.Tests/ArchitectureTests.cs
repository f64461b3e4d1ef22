using System.Text.RegularExpressions;
using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

/// <summary>
/// The capability folders of src/ (one namespace each) depend on each other in one direction only: a folder
/// that reaches itself through others can no longer be read, tested or moved on its own.
/// </summary>
public partial class ArchitectureTests
{
    [Fact]
    public void NoCycleBetweenFolders()
    {
        var graph = FolderGraph(Path.Combine(Repo.Root, "src"));
        // The graph is read, not empty: the composition root names the capabilities it wires.
        Assert.Contains("Aggregator/Alerts", graph["Aggregator/Hosting"]);
        Assert.Contains("Operator/Reconcile", graph["Operator/Controller"]);
        var cycles = Cycles(graph);
        Assert.True(cycles.Count == 0, "folders that depend on each other (follow the arrows):\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void TheCheckFindsACycle()
    {
        var graph = new Dictionary<string, IReadOnlySet<string>>
        {
            ["P/A"] = new HashSet<string> { "P/B" },
            ["P/B"] = new HashSet<string> { "P/C" },
            ["P/C"] = new HashSet<string> { "P/A", "P/D" },
            ["P/D"] = new HashSet<string>(),
            ["P/E"] = new HashSet<string> { "P/A" },
        };
        Assert.Equal(["P/A -> P/B -> P/C -> P/A"], Cycles(graph));
        graph["P/C"] = new HashSet<string> { "P/D" };
        Assert.Empty(Cycles(graph));
    }

    [Fact]
    public void TheGraphReadsUsingLinesAndQualifiedNames()
    {
        var src = Directory.CreateTempSubdirectory("agentmeter-arch-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(src, "App", "A"));
            Directory.CreateDirectory(Path.Combine(src, "App", "B"));
            Directory.CreateDirectory(Path.Combine(src, "App", "C"));
            File.WriteAllText(Path.Combine(src, "App", "A", "X.cs"), "using AgentMeter.App.B;\nnamespace AgentMeter.App.A;\n");
            File.WriteAllText(Path.Combine(src, "App", "B", "Y.cs"), "namespace AgentMeter.App.B;\nclass Y { object c = AgentMeter.App.C.Z.Make(); }\n");
            File.WriteAllText(Path.Combine(src, "App", "C", "Z.cs"), "namespace AgentMeter.App.C;\n// using AgentMeter.App.A; only a comment\n");
            var graph = FolderGraph(src);
            Assert.Equal(["App/B"], graph["App/A"]);
            Assert.Equal(["App/C"], graph["App/B"]);
            Assert.Empty(graph["App/C"]);
        }
        finally
        {
            Directory.Delete(src, recursive: true);
        }
    }

    /// <summary>Each folder of each project under <paramref name="src"/> (<c>Project/Folder</c>) and the folders its code names.</summary>
    private static Dictionary<string, IReadOnlySet<string>> FolderGraph(string src)
    {
        var folders = Directory.EnumerateDirectories(src)
            .SelectMany(project => Directory.EnumerateDirectories(project)
                .Where(Source)
                .Select(d => (Project: Path.GetFileName(project), Folder: Path.GetFileName(d), Path: d)))
            .ToList();
        var known = folders.Select(f => $"{f.Project}/{f.Folder}").ToHashSet();
        var graph = new Dictionary<string, IReadOnlySet<string>>();
        foreach (var (project, folder, path) in folders)
        {
            var self = $"{project}/{folder}";
            var uses = new HashSet<string>();
            foreach (var file in SourceFiles(path))
            foreach (var line in File.ReadLines(file))
            {
                var code = line.TrimStart();
                if (code.StartsWith("//") || code.StartsWith("namespace ")) continue;
                foreach (Match m in Reference().Matches(code))
                {
                    var target = $"{m.Groups[1].Value}/{m.Groups[2].Value}";
                    if (target != self && known.Contains(target)) uses.Add(target);
                }
            }
            graph[self] = uses;
        }
        return graph;
    }

    private static bool Source(string dir) => Path.GetFileName(dir) is not ("bin" or "obj" or "node_modules");

    private static IEnumerable<string> SourceFiles(string dir) =>
        Directory.EnumerateFiles(dir, "*.cs").Concat(Directory.EnumerateDirectories(dir).Where(Source).SelectMany(SourceFiles));

    /// <summary><c>AgentMeter.Project.Folder</c> in a using line or a qualified name.</summary>
    [GeneratedRegex(@"\bAgentMeter\.([A-Za-z]+)\.([A-Za-z]+)")]
    private static partial Regex Reference();

    /// <summary>One cycle (as <c>A -> B -> A</c>) per group of folders that reach each other.</summary>
    private static List<string> Cycles(IReadOnlyDictionary<string, IReadOnlySet<string>> graph)
    {
        var cycles = new List<string>();
        var done = new HashSet<string>();
        foreach (var start in graph.Keys.Order(StringComparer.Ordinal))
        {
            var path = new List<string>();
            if (FindCycle(start) is { } cycle) cycles.Add(string.Join(" -> ", cycle));

            List<string>? FindCycle(string node)
            {
                var at = path.IndexOf(node);
                if (at >= 0) return [.. path[at..], node];
                if (!done.Add(node)) return null;
                path.Add(node);
                foreach (var next in graph.GetValueOrDefault(node, new HashSet<string>()).Order(StringComparer.Ordinal))
                    if (FindCycle(next) is { } found) return found;
                path.RemoveAt(path.Count - 1);
                return null;
            }
        }
        return cycles;
    }
}
