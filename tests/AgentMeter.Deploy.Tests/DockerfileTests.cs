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
    public void FinalStageIsOnlyTheAspNetRuntime()
    {
        var from = FinalStage.First();
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/aspnet:", from);
        Assert.DoesNotContain(FinalStage, l => l.StartsWith("RUN", StringComparison.Ordinal) && (l.Contains("apt-get") || l.Contains("dotnet ")));
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
        Assert.Contains(FinalStage, l => l.Contains($"ln -s /app/{folder}/{assembly} /usr/local/bin/{assembly}"));
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
