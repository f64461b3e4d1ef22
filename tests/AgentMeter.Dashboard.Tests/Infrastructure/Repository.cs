namespace AgentMeter.Dashboard.Tests.Infrastructure;

public static class Repository
{
    /// <summary>The checkout this build came from: the folder above the binaries that holds AgentMeter.slnx.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "AgentMeter.slnx")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("AgentMeter.slnx not found above the binaries' folder.");
    }
}
