namespace AgentMeter.Aggregator.Tests.Infrastructure;

/// <summary>A temporary folder removed on dispose (resource files, mounted-secret files).</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("agentmeter-test-").FullName;

    /// <summary>Writes a file below the folder (creating subfolders) and returns its full path.</summary>
    public string Write(string relativePath, string content)
    {
        var file = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, content);
        return file;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
