namespace AgentMeter.Testing;

/// <summary>Folders of the repository the tests read (CRDs, samples, RBAC).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Crds => Path.Combine(Root, "config", "crds");
    public static string Samples => Path.Combine(Root, "config", "samples");
    public static string Rbac => Path.Combine(Root, "config", "rbac");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AgentMeter.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("AgentMeter.slnx not found above " + AppContext.BaseDirectory);
    }
}
