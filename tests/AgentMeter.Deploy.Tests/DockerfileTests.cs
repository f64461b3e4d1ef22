using System.Text.RegularExpressions;
using System.Xml.Linq;
using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

/// <summary>
/// No Docker engine runs here, so the image itself is not built in tests; these check what the
/// manifests rely on: the final stage's user and entrypoints.
/// </summary>
public partial class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(Repo.Root, "Dockerfile"));

    private static IEnumerable<string> FinalStage =>
        Lines.Skip(Array.FindLastIndex(Lines, l => l.StartsWith("FROM ", StringComparison.Ordinal)));

    [Fact]
    public void FinalStageIsOnlyTheChiseledAspNetRuntime()
    {
        var from = FinalStage.First();
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/aspnet:[^ ]*-chiseled", from);
        // Chiseled: no shell, so the final stage runs nothing; it only copies the published apps.
        Assert.DoesNotContain(FinalStage, l => l.StartsWith("RUN", StringComparison.Ordinal));
        Assert.Contains(FinalStage, l => l.StartsWith("COPY --from=build /out/aggregator", StringComparison.Ordinal));
    }

    /// <summary>Every base image names an exact version (x.y.z), and a digest where `make pin-images` added one: never a moving tag alone.</summary>
    [Fact]
    public void EveryBaseImageIsPinned()
    {
        var froms = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, froms.Count);
        foreach (var from in froms)
            Assert.Matches(@"^FROM [a-z0-9./-]+:[0-9]+\.[0-9]+\.[0-9]+(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?( AS [a-z]+)?$", from);
        Assert.DoesNotContain(Lines, l => l.StartsWith("ARG ", StringComparison.Ordinal) && l.Contains("VERSION", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(Repo.Root, "scripts", "pin-images.sh")), "make pin-images needs scripts/pin-images.sh");
    }

    /// <summary>The final stage's USER, which must be numeric for runAsNonRoot to verify it.</summary>
    public static long ImageUid()
    {
        var user = FinalStage.Last(l => l.StartsWith("USER ", StringComparison.Ordinal));
        var match = NumericUser().Match(user);
        Assert.True(match.Success, $"'{user}': runAsNonRoot can only verify a numeric USER");
        return long.Parse(match.Groups[1].Value);
    }

    /// <summary>The final stage's ENTRYPOINT (exec form).</summary>
    public static string Entrypoint() =>
        FinalStage.Last(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))["ENTRYPOINT ".Length..];

    [Fact]
    public void ImageUserIsNumericNonRootAndTheOneThePodsRunAs()
    {
        var uid = ImageUid();
        Assert.NotEqual(0, uid);
        foreach (var install in new[] { Installs.ChartDefault, Installs.Kustomize })
            foreach (var (owner, pod) in install.Objects.PodSpecs())
                Assert.True(uid == pod.At("securityContext.runAsUser")?.GetValue<long>(), $"{install} {owner.Id()} runs as another user than the image's {uid}");
    }

    [Theory]
    [InlineData("src/Aggregator/AgentMeter.Aggregator.csproj", "aggregator")]
    [InlineData("src/Operator/AgentMeter.Operator.csproj", "operator")]
    public void BothProcessesAreOnThePath(string project, string folder)
    {
        var assembly = XDocument.Load(Path.Combine(Repo.Root, project)).Descendants("AssemblyName").Single().Value;
        Assert.Contains(Lines, l => l.Contains($"dotnet publish src/{Path.GetFileName(Path.GetDirectoryName(project))} ") && l.Contains($"-o /out/{folder}"));
        Assert.Contains(FinalStage, l => l.StartsWith($"COPY --from=build /out/{folder} /app/{folder}", StringComparison.Ordinal));
        var path = FinalStage.Single(l => l.StartsWith("ENV PATH=", StringComparison.Ordinal))["ENV PATH=".Length..].Split(' ')[0].Split(':');
        // /app/<folder>/<assembly> is found by its name through PATH, as the pods' commands use it.
        Assert.Contains($"/app/{folder}", path);
        Assert.False(string.IsNullOrEmpty(assembly));
    }

    [Fact]
    public void OperatorPodsStartTheOperatorEntrypoint()
    {
        var operatorAssembly = XDocument.Load(Path.Combine(Repo.Root, "src/Operator/AgentMeter.Operator.csproj")).Descendants("AssemblyName").Single().Value;
        foreach (var install in new[] { Installs.ChartDefault, Installs.Kustomize })
        {
            var container = install.Single("Deployment", "agentmeter-operator").Objects("spec.template.spec.containers").Single();
            Assert.Equal(operatorAssembly, container.At("command")![0]!.GetValue<string>());
            Assert.Equal("run", container.At("args")![0]!.GetValue<string>());
        }
    }

    [GeneratedRegex(@"^USER (\d+)(:\d+)?$")]
    private static partial Regex NumericUser();
}
