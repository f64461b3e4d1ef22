using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;

namespace AgentMeter.Aggregator.Dashboard;

/// <summary>The embedded files of the bundle, read once at start.</summary>
internal sealed class DashboardBundle
{
    private const string Prefix = "Dashboard/";
    private readonly Dictionary<string, DashboardAsset> _assets;

    private DashboardBundle(Dictionary<string, DashboardAsset> assets) => _assets = assets;

    public static DashboardBundle Load(Assembly assembly)
    {
        var types = new FileExtensionContentTypeProvider();
        var names = assembly.GetManifestResourceNames().Where(name => name.StartsWith(Prefix, StringComparison.Ordinal)).ToHashSet();
        if (!names.Contains(Prefix + "index.html"))
        {
            throw new InvalidOperationException(
                "The dashboard bundle is missing from the aggregator assembly: build it with `dotnet build` (which runs npm in src/Aggregator/Dashboard).");
        }

        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var name in names.Where(name => !name.EndsWith(".gz", StringComparison.Ordinal)))
        {
            var path = name[Prefix.Length..];
            var content = Read(assembly, name)!;
            var contentType = types.TryGetContentType(path, out var type) ? type : "application/octet-stream";
            if (contentType.StartsWith("text/", StringComparison.Ordinal) || contentType.EndsWith("javascript", StringComparison.Ordinal))
            {
                contentType += "; charset=utf-8";
            }

            var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"";
            assets[path] = new DashboardAsset(content, names.Contains(name + ".gz") ? Read(assembly, name + ".gz") : null, contentType, etag);
        }

        return new DashboardBundle(assets);
    }

    public bool TryGet(string path, out DashboardAsset asset) => _assets.TryGetValue(path, out asset!);

    private static byte[]? Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name);
        if (stream is null)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}

internal sealed record DashboardAsset(byte[] Content, byte[]? Gzipped, string ContentType, string ETag);
