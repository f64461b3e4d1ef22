namespace AgentMeter.Testing;

/// <summary>Folders of the repository the tests read (CRDs, samples, RBAC) and the shared contract beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Crds => Path.Combine(Root, "config", "crds");
    public static string Samples => Path.Combine(Root, "config", "samples");
    public static string Rbac => Path.Combine(Root, "config", "rbac");

    /// <summary>CI clones the repo next to <c>shared/</c>; worktrees may sit deeper, so look upwards.</summary>
    public static string SharedSchemas
    {
        get
        {
            for (var dir = new DirectoryInfo(Root).Parent; dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "schemas");
                if (Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException($"no shared/schemas folder above {Root}; CI places shared/ beside the clone");
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AgentMeter.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("AgentMeter.slnx not found above " + AppContext.BaseDirectory);
    }
}
