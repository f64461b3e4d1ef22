using System.Net.Sockets;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Commands;
using AgentMeter.Operator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Testcontainers.K3s;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>
/// The create → status scenario against a real API server (k3s in Docker). Skipped, and reported as skipped,
/// where no Docker engine is reachable — as on the CI machine and this build host.
/// </summary>
public class K3sScenarioTests
{
    private static string? NoDockerReason()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (!string.IsNullOrEmpty(host) && !host.StartsWith("unix://", StringComparison.Ordinal)) return null;
        var socket = string.IsNullOrEmpty(host) ? "/var/run/docker.sock" : host["unix://".Length..];
        if (!File.Exists(socket)) return $"no Docker engine: {socket} does not exist (set DOCKER_HOST or start dockerd to run the k3s scenario)";
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(socket));
            return null;
        }
        catch (SocketException e)
        {
            return $"no Docker engine answering on {socket}: {e.Message}";
        }
    }

    [SkippableFact]
    public async Task UsageAlertIsReconciledOnARealCluster()
    {
        var reason = NoDockerReason();
        Skip.If(reason is not null, reason);

        await using var k3s = new K3sBuilder("rancher/k3s:v1.31.4-k3s1").Build();
        await k3s.StartAsync();
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(await k3s.GetKubeconfigAsync())));
        using var client = new k8s.Kubernetes(config);

        var crdFiles = Directory.GetFiles(RepoPaths.Crds, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml");
        foreach (var file in crdFiles)
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(
                KubernetesJson.Deserialize<V1CustomResourceDefinition>(YamlJson.ReadDocuments(File.ReadAllText(file)).Single().ToJsonString()));
        // prometheus-operator's kinds, schemaless: their schemas are checked by UpstreamSchemas, here only their presence matters.
        foreach (var (kind, plural) in new[] { ("PrometheusRule", "prometheusrules"), ("ServiceMonitor", "servicemonitors") })
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(new V1CustomResourceDefinition
            {
                Metadata = new V1ObjectMeta { Name = $"{plural}.monitoring.coreos.com" },
                Spec = new V1CustomResourceDefinitionSpec
                {
                    Group = "monitoring.coreos.com", Scope = "Namespaced",
                    Names = new V1CustomResourceDefinitionNames { Kind = kind, Plural = plural },
                    Versions =
                    [
                        new V1CustomResourceDefinitionVersion
                        {
                            Name = "v1", Served = true, Storage = true,
                            Schema = new V1CustomResourceValidation { OpenAPIV3Schema = new V1JSONSchemaProps { Type = "object", XKubernetesPreserveUnknownFields = true } },
                        },
                    ],
                },
            });
        foreach (var ns in new[] { OperatorHarness.Namespace, "team-a" })
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        // A CRD serves its kind once Established: poll for that rather than wait a fixed time.
        var established = DateTime.UtcNow.AddSeconds(60);
        while ((await client.ApiextensionsV1.ListCustomResourceDefinitionAsync()).Items
               .Any(c => c.Status?.Conditions?.Any(x => x.Type == "Established" && x.Status == "True") != true))
        {
            Assert.True(DateTime.UtcNow < established, "CRDs not Established within 60 s");
            await Task.Delay(100);
        }

        await using var aggregator = await AggregatorStub.StartAsync();
        aggregator.SetAlert("team-a", "daily-cost", "Firing", "120", "planner");
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0", ["Operator:Namespace"] = OperatorHarness.Namespace, ["Operator:StatusSyncPeriod"] = "00:00:01",
            ["Aggregator:Url"] = aggregator.Url.ToString(),
        };
        await using var app = RunCommand.Build([], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            b.Logging.ClearProviders();
            b.Services.AddSingleton(new AgentMeter.Operator.Kubernetes.ApiClient(config));
        });
        await app.StartAsync();

        var sample = YamlJson.ReadDocuments(File.ReadAllText(Path.Combine(RepoPaths.Samples, "usagealert-daily-cost.yaml"))).Single();
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(sample, "agentmeter.io", "v1alpha1", "team-a", "usagealerts");

        JsonObject? alert = null;
        for (var i = 0; i < 120 && alert?["status"]?["state"]?.GetValue<string>() != "Firing"; i++)
        {
            await Task.Delay(500);
            alert = JsonNode.Parse(((System.Text.Json.JsonElement)await client.CustomObjects.GetNamespacedCustomObjectAsync("agentmeter.io", "v1alpha1", "team-a", "usagealerts", "daily-cost")).GetRawText())!.AsObject();
        }
        Assert.Equal("Firing", alert?["status"]?["state"]?.GetValue<string>());
        var configMap = await client.CoreV1.ReadNamespacedConfigMapAsync("agentmeter-resources-team-a", OperatorHarness.Namespace);
        Assert.Contains("daily-cost", configMap.Data["resources.yaml"]);
        var deployment = await client.AppsV1.ReadNamespacedDeploymentAsync("agentmeter-aggregator", OperatorHarness.Namespace);
        Assert.Equal(true, deployment.Spec.Template.Spec.Containers[0].SecurityContext.RunAsNonRoot);
        await app.StopAsync();
    }
}
