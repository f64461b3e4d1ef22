using System.Text.Json.Nodes;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Tests.Rules;

/// <summary>The aggregator Deployment follows docs/contracts.md and Pod Security "restricted".</summary>
public class WorkloadRenderingTests
{
    private static JsonObject Deployment(AggregatorOptions options) => Rendered(options, ObjectKind.Deployment);

    private static JsonObject Rendered(AggregatorOptions options, ObjectKind kind) =>
        new Renderer(options, new MonitoringOptions(), "agentmeter").Workload(new ResourceSet(), monitoringServed: true)
            .Single(o => o.Kind == kind).Body;

    private static List<(string Name, int Port)> Ports(JsonNode? ports, string portField) =>
        ports!.AsArray().Select(p => (p!["name"]!.GetValue<string>(), p[portField]!.GetValue<int>())).ToList();

    [Fact]
    public void TheOtlpGrpcPortIsOnTheContainerAndTheServiceUnlessTurnedOff()
    {
        var on = new AggregatorOptions { OtlpGrpcPort = 14317 };
        var container = Deployment(on)["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal([("http", 8080), ("otlp-grpc", 14317)], Ports(container["ports"], "containerPort"));
        Assert.Contains(container["env"]!.AsArray(), e => e!["name"]!.GetValue<string>() == "Otlp__GrpcPort" && e["value"]!.GetValue<string>() == "14317");
        var service = Rendered(on, ObjectKind.Service)["spec"]!["ports"]!;
        Assert.Equal([("http", 8080), ("otlp-grpc", 14317)], Ports(service, "port"));
        Assert.Equal(("otlp-grpc", "grpc"), (service[1]!["targetPort"]!.GetValue<string>(), service[1]!["appProtocol"]!.GetValue<string>()));
        Assert.Equal(4317, new AggregatorOptions().OtlpGrpcPort);

        var off = new AggregatorOptions { OtlpGrpcPort = 0 };
        Assert.Equal([("http", 8080)], Ports(Deployment(off)["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"], "containerPort"));
        Assert.Equal([("http", 8080)], Ports(Rendered(off, ObjectKind.Service)["spec"]!["ports"], "port"));
    }

    [Fact]
    public void DeploymentIsRestrictedAndWiredAsTheContractSays()
    {
        var options = new AggregatorOptions
        {
            Image = "registry.example/agentmeter:2.0", Replicas = 3, TenantTokensSecret = "tenant-tokens",
            DatabaseSecret = new SecretKeyOption { Name = "pg", Key = "dsn" },
        };
        var d = Deployment(options);
        var pod = d["spec"]!["template"]!["spec"]!;
        var c = pod["containers"]![0]!;
        Assert.Equal(3, d["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal("registry.example/agentmeter:2.0", c["image"]!.GetValue<string>());
        Assert.Equal(["serve", "--resources", "/etc/agentmeter/resources"], c["args"]!.AsArray().Select(a => a!.GetValue<string>()));

        var sc = c["securityContext"]!;
        Assert.False(sc["allowPrivilegeEscalation"]!.GetValue<bool>());
        Assert.True(sc["runAsNonRoot"]!.GetValue<bool>());
        Assert.True(sc["readOnlyRootFilesystem"]!.GetValue<bool>());
        Assert.Equal(["ALL"], sc["capabilities"]!["drop"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal("RuntimeDefault", pod["securityContext"]!["seccompProfile"]!["type"]!.GetValue<string>());
        Assert.True(pod["securityContext"]!["runAsNonRoot"]!.GetValue<bool>());

        var env = c["env"]!.AsArray().ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!);
        Assert.Equal("pg", env["ConnectionStrings__Postgres"]["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>());
        Assert.Equal("dsn", env["ConnectionStrings__Postgres"]["valueFrom"]!["secretKeyRef"]!["key"]!.GetValue<string>());
        Assert.Equal("admin-token", env["Auth__AdminToken"]["valueFrom"]!["secretKeyRef"]!["key"]!.GetValue<string>());
        Assert.Equal("/etc/agentmeter/secrets", env["Webhooks__SecretsPath"]["value"]!.GetValue<string>());
        Assert.Equal("/etc/agentmeter/tenant-tokens", env["Auth__TenantTokensPath"]["value"]!.GetValue<string>());

        var mounts = c["volumeMounts"]!.AsArray().ToDictionary(m => m!["name"]!.GetValue<string>(), m => m!["mountPath"]!.GetValue<string>());
        var volumes = pod["volumes"]!.AsArray().ToDictionary(v => v!["name"]!.GetValue<string>(), v => v!);
        Assert.Equal("/etc/agentmeter/resources", mounts["resources"]);
        Assert.Equal("agentmeter-resources", volumes["resources"]["configMap"]!["name"]!.GetValue<string>());
        Assert.Equal("agentmeter-webhook-secrets", volumes["webhook-secrets"]["secret"]!["secretName"]!.GetValue<string>());
        Assert.Equal("tenant-tokens", volumes["tenant-tokens"]["secret"]!["secretName"]!.GetValue<string>());
        Assert.Equal("http", c["ports"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("512Mi", c["resources"]!["limits"]!["memory"]!.GetValue<string>());
    }

    [Fact]
    public void TenantTokensAreOnlyMountedWhenConfigured()
    {
        var d = Deployment(new AggregatorOptions());
        Assert.DoesNotContain("tenant-tokens", d.ToJsonString());
    }
}
