using System.Text.Json.Nodes;
using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

public class PodSecurityTests
{
    [Theory]
    [MemberData(nameof(Installs.All), MemberType = typeof(Installs))]
    public void EveryPodMeetsTheRestrictedStandard(string name)
    {
        var install = Installs.ByName(name);
        var pods = install.Objects.PodSpecs().ToList();
        Assert.NotEmpty(pods);
        var problems = pods.SelectMany(p => RestrictedPodSecurity.Violations(p.Pod).Select(v => $"{p.Owner.Id()}: {v}")).ToList();
        Assert.True(problems.Count == 0, $"{install}:\n{string.Join("\n", problems)}");
    }

    [Fact]
    public void KustomizeNamespaceEnforcesTheRestrictedStandard()
    {
        var ns = Installs.Kustomize.Single("Namespace", Installs.Namespace);
        Assert.Equal("restricted", (ns.At("metadata.labels") as JsonObject)?["pod-security.kubernetes.io/enforce"]?.GetValue<string>());
    }

    [Fact]
    public void TheCheckFlagsEveryKindOfViolation()
    {
        var pod = (JsonObject)Yaml.Objects("""
            hostNetwork: true
            securityContext:
              runAsUser: 0
              seccompProfile: {type: Unconfined}
              sysctls: [{name: kernel.msgmax, value: "1"}]
            volumes:
              - {name: host, hostPath: {path: /var/run}}
            containers:
              - name: app
                ports: [{containerPort: 80, hostPort: 80}]
                securityContext:
                  privileged: true
                  allowPrivilegeEscalation: true
                  capabilities: {add: [NET_ADMIN], drop: [NET_RAW]}
            initContainers:
              - name: init
                securityContext: {procMount: Unmasked, runAsNonRoot: false}
            """).Single();
        var problems = string.Join("\n", RestrictedPodSecurity.Violations(pod));
        foreach (var expected in new[]
                 {
                     "pod: hostNetwork must be unset or false", "pod: seccompProfile.type must be RuntimeDefault or Localhost",
                     "pod: runAsUser must not be 0", "pod: sysctl kernel.msgmax is not in the safe set",
                     "volume host: type hostPath is not allowed", "container app: hostPort must be unset or 0",
                     "container app: privileged must not be true", "container app: allowPrivilegeEscalation must be false",
                     "container app: capabilities.drop must include ALL", "container app: capabilities.add may only hold NET_BIND_SERVICE",
                     "container app: runAsNonRoot must be true", "container app: readOnlyRootFilesystem must be true",
                     "container init: procMount must be Default", "container init: runAsNonRoot must be true",
                     "container init: allowPrivilegeEscalation must be false",
                 })
            Assert.Contains(expected, problems);
    }
}
