using AgentMeter.Operator.Kubernetes;
using AgentMeter.Testing.FakeApi;
using k8s;

namespace AgentMeter.Operator.Tests.Support;

public static class FakeApiClients
{
    /// <summary>The operator's own API client, pointed at the fake API server.</summary>
    public static ApiClient OperatorClient(this FakeApiServer api) =>
        new(new KubernetesClientConfiguration { Host = api.Url.ToString().TrimEnd('/') });
}
