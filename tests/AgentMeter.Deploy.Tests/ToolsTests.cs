using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

/// <summary>The tests run the tools users are told to use, not whatever a machine has on PATH.</summary>
public class ToolsTests
{
    [Fact]
    public void HelmInBinIsVersion4() =>
        Assert.StartsWith("v4.", Cli.Succeed(Repo.Helm, "version", "--short"));

    [Fact]
    public void KubectlInBinIsVersion1_33() =>
        Assert.Contains("Client Version: v1.33.", Cli.Succeed(Repo.Kubectl, "version", "--client"));
}
