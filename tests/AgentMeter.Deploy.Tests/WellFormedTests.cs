using AgentMeter.Deploy.Tests.Support;

namespace AgentMeter.Deploy.Tests;

public class WellFormedTests
{
    [Theory]
    [MemberData(nameof(Installs.All), MemberType = typeof(Installs))]
    public void EveryObjectIsAWellFormedKubernetesObject(string name)
    {
        var install = Installs.ByName(name);
        Assert.NotEmpty(install.Objects);
        // The production values put the Grafana dashboard where Grafana's sidecar looks.
        string[] namespaces = name == "chart-production" ? [Installs.Namespace, "monitoring"] : [Installs.Namespace];
        var problems = WellFormed.Problems(install, namespaces);
        Assert.True(problems.Count == 0, $"{install}:\n{string.Join("\n", problems)}");
    }

    [Fact]
    public void TheCheckCatchesBrokenObjects()
    {
        var broken = new Install("broken", """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: Operator_1
            spec:
              selector:
                matchLabels: {app: a}
              template:
                metadata:
                  labels: {app: b, tier: 3}
                spec:
                  serviceAccountName: ghost
                  containers:
                    - name: c
                      image: ""
                      readinessProbe: {httpGet: {path: /readyz, port: http}}
                      volumeMounts: [{name: tmp, mountPath: /tmp}]
                      env:
                        - name: A
                        - name: A
                          value: x
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: b, namespace: agentmeter-system}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: missing}
            subjects: [{kind: ServiceAccount, name: nobody, namespace: agentmeter-system}]
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: c, namespace: agentmeter-system}
            dataa: {x: y}
            """);
        var problems = string.Join("\n", WellFormed.Problems(broken, Installs.Namespace));
        Assert.Contains("Property 'dataa' not found", problems);
        Assert.Contains("metadata.name 'Operator_1' is not a valid name", problems);
        Assert.Contains("namespace should be agentmeter-system", problems);
        Assert.Contains("spec.template.metadata.labels.tier must be a string", problems);
        Assert.Contains("spec.template.spec.containers[0].image is an empty string", problems);
        Assert.Contains("serviceAccountName ghost is not part of the install", problems);
        Assert.Contains("selector does not match the pod template's labels", problems);
        Assert.Contains("volumeMount tmp has no volume", problems);
        Assert.Contains("env A needs exactly one of value and valueFrom", problems);
        Assert.Contains("env A is set 2 times", problems);
        Assert.Contains("readinessProbe uses port http the container does not declare", problems);
        Assert.Contains("roleRef Role missing is not part of the install", problems);
        Assert.Contains("subject ServiceAccount agentmeter-system/nobody is not part of the install", problems);
    }
}
