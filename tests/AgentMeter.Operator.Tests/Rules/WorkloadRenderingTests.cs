using AgentMeter.Testing.Upstream;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Rendering;

namespace AgentMeter.Operator.Tests.Rules;

/// <summary>The aggregator Deployment follows docs/contracts.md and Pod Security "restricted".</summary>
public class WorkloadRenderingTests
{
    private static JsonObject Deployment(AggregatorOptions options, MonitoringOptions? monitoring = null) =>
        Workload(options, monitoring ?? new MonitoringOptions(), ObjectKind.Deployment);

    private static JsonObject Workload(AggregatorOptions options, MonitoringOptions monitoring, ObjectKind kind) =>
        new Renderer(options, monitoring, "agentmeter").Workload(new RenderInput(), monitoringServed: true)
            .Single(o => o.Kind == kind).Body;

    private static Dictionary<string, JsonNode> Env(JsonObject deployment) =>
        deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray().ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!);

    private static List<(string Name, int Port)> Ports(JsonNode? ports, string portField) =>
        ports!.AsArray().Select(p => (p!["name"]!.GetValue<string>(), p[portField]!.GetValue<int>())).ToList();

    [Fact]
    public void TheOtlpGrpcPortIsOnTheContainerAndTheServiceUnlessTurnedOff()
    {
        var on = new AggregatorOptions { OtlpGrpcPort = 14317 };
        var container = Deployment(on)["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal([("http", 8080), ("otlp-grpc", 14317)], Ports(container["ports"], "containerPort"));
        Assert.Contains(container["env"]!.AsArray(), e => e!["name"]!.GetValue<string>() == "Otlp__GrpcPort" && e["value"]!.GetValue<string>() == "14317");
        var service = Workload(on, new MonitoringOptions(), ObjectKind.Service)["spec"]!["ports"]!;
        Assert.Equal([("http", 8080), ("otlp-grpc", 14317)], Ports(service, "port"));
        Assert.Equal(("otlp-grpc", "grpc"), (service[1]!["targetPort"]!.GetValue<string>(), service[1]!["appProtocol"]!.GetValue<string>()));
        Assert.Equal(4317, new AggregatorOptions().OtlpGrpcPort);

        var off = new AggregatorOptions { OtlpGrpcPort = 0 };
        Assert.Equal([("http", 8080)], Ports(Deployment(off)["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"], "containerPort"));
        Assert.Equal([("http", 8080)], Ports(Workload(off, new MonitoringOptions(), ObjectKind.Service)["spec"]!["ports"], "port"));
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
        Assert.Equal(["serve"], c["args"]!.AsArray().Select(a => a!.GetValue<string>()));

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
        // The hand-off objects are watched in the pod's own namespace, with a token of its own ServiceAccount.
        Assert.Equal("metadata.namespace", env["Resources__Namespace"]["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());
        Assert.False(env.ContainsKey("Webhooks__SecretsPath"));
        Assert.Equal("agentmeter-aggregator", pod["serviceAccountName"]!.GetValue<string>());
        Assert.True(pod["automountServiceAccountToken"]!.GetValue<bool>());
        Assert.Equal("/etc/agentmeter/tenant-tokens", env["Auth__TenantTokensPath"]["value"]!.GetValue<string>());

        var mounts = c["volumeMounts"]!.AsArray().ToDictionary(m => m!["name"]!.GetValue<string>(), m => m!["mountPath"]!.GetValue<string>());
        var volumes = pod["volumes"]!.AsArray().ToDictionary(v => v!["name"]!.GetValue<string>(), v => v!);
        Assert.False(mounts.ContainsKey("resources"));
        Assert.False(volumes.ContainsKey("webhook-secrets"));
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

    [Fact]
    public void MetricsTokenIsRequiredOfTheAggregatorAndCarriedByTheServiceMonitor()
    {
        var options = new AggregatorOptions { AuthSecret = new SecretKeyOption { Name = "api-tokens" } };
        var monitoring = new MonitoringOptions { RequireMetricsToken = true };
        var env = Env(Deployment(options, monitoring));
        Assert.Equal("true", env["Metrics__RequireToken"]["value"]!.GetValue<string>());
        var token = env["Auth__MetricsToken"]["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal(("api-tokens", "metrics-token", false), (token["name"]!.GetValue<string>(), token["key"]!.GetValue<string>(), token["optional"]!.GetValue<bool>()));

        var monitor = Workload(options, monitoring, ObjectKind.ServiceMonitor);
        var authorization = monitor["spec"]!["endpoints"]![0]!["authorization"]!;
        Assert.Equal("Bearer", authorization["type"]!.GetValue<string>());
        Assert.Equal("api-tokens", authorization["credentials"]!["name"]!.GetValue<string>());
        Assert.Equal("metrics-token", authorization["credentials"]!["key"]!.GetValue<string>());
        Assert.Empty(UpstreamSchemas.Problems(monitor));
        // The check can fail: credentials without their key are refused by the upstream schema.
        var broken = monitor.DeepClone().AsObject();
        broken["spec"]!["endpoints"]![0]!["authorization"]!["credentials"]!.AsObject().Remove("key");
        Assert.NotEmpty(UpstreamSchemas.Problems(broken));

        // Off (the default): no token asked for, none carried.
        Assert.DoesNotContain("Metrics__RequireToken", Env(Deployment(options)).Keys);
        Assert.Null(Workload(options, new MonitoringOptions(), ObjectKind.ServiceMonitor)["spec"]!["endpoints"]![0]!["authorization"]);
    }

    [Fact]
    public void WebhookSettingsTenantIngestTokensAndPullSecretsReachTheAggregator()
    {
        var options = new AggregatorOptions
        {
            TenantIngestTokensSecret = "ingest-tokens",
            ImagePullSecrets = ["mirror-a", "mirror-b"],
            Webhooks = new WebhookSettings
            {
                AllowedTargets = ["hooks.internal.example", "10.20.0.0/16"], Proxy = "http://egress-proxy.infra.svc:3128",
                PagerDutyHosts = ["pd-relay.internal.example"],
            },
        };
        var d = Deployment(options);
        var env = Env(d);
        Assert.Equal("hooks.internal.example", env["Webhooks__AllowedTargets__0"]["value"]!.GetValue<string>());
        Assert.Equal("10.20.0.0/16", env["Webhooks__AllowedTargets__1"]["value"]!.GetValue<string>());
        Assert.Equal("http://egress-proxy.infra.svc:3128", env["Webhooks__Proxy"]["value"]!.GetValue<string>());
        Assert.Equal("pd-relay.internal.example", env["Webhooks__PagerDutyHosts__0"]["value"]!.GetValue<string>());
        Assert.Equal("/etc/agentmeter/tenant-ingest-tokens", env["Auth__TenantIngestTokensPath"]["value"]!.GetValue<string>());
        var pod = d["spec"]!["template"]!["spec"]!;
        Assert.Contains(pod["volumes"]!.AsArray(), v => v!["secret"]?["secretName"]?.GetValue<string>() == "ingest-tokens");
        Assert.Equal(["mirror-a", "mirror-b"], pod["imagePullSecrets"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()));
        // The operator validates with the hosts it hands the aggregator.
        Assert.Equal(["pd-relay.internal.example"], options.Rules().PagerDutyHosts);

        var plain = Env(Deployment(new AggregatorOptions()));
        Assert.DoesNotContain(plain.Keys, k => k.StartsWith("Webhooks__AllowedTargets", StringComparison.Ordinal) || k == "Webhooks__Proxy" || k.StartsWith("Webhooks__PagerDutyHosts", StringComparison.Ordinal) || k == "Auth__TenantIngestTokensPath");
        Assert.Null(Deployment(new AggregatorOptions())["spec"]!["template"]!["spec"]!["imagePullSecrets"]);
    }

    [Fact]
    public void EmailSettingsReachTheAggregatorAndTheCredentialsAreMountedAsFiles()
    {
        var options = new AggregatorOptions
        {
            Email = new EmailSettings
            {
                Host = "smtp.example.com", Port = 465, From = "alerts@example.com", Security = "Tls", CredentialsSecret = "smtp-credentials",
                DashboardUrl = "https://agentmeter.example.com/",
            },
        };
        var d = Deployment(options);
        var env = Env(d);
        Assert.Equal("smtp.example.com", env["Email__Host"]["value"]!.GetValue<string>());
        Assert.Equal("465", env["Email__Port"]["value"]!.GetValue<string>());
        Assert.Equal("alerts@example.com", env["Email__From"]["value"]!.GetValue<string>());
        Assert.Equal("Tls", env["Email__Security"]["value"]!.GetValue<string>());
        Assert.Equal("https://agentmeter.example.com/", env["Email__DashboardUrl"]["value"]!.GetValue<string>());
        Assert.Equal("/etc/agentmeter/email/username", env["Email__UserNameFile"]["value"]!.GetValue<string>());
        Assert.Equal("/etc/agentmeter/email/password", env["Email__PasswordFile"]["value"]!.GetValue<string>());
        var pod = d["spec"]!["template"]!["spec"]!;
        Assert.Contains(pod["volumes"]!.AsArray(), v => v!["secret"]?["secretName"]?.GetValue<string>() == "smtp-credentials");
        Assert.Contains(pod["containers"]![0]!["volumeMounts"]!.AsArray(),
            m => m!["mountPath"]!.GetValue<string>() == "/etc/agentmeter/email" && m["readOnly"]!.GetValue<bool>());

        Assert.DoesNotContain(Env(Deployment(new AggregatorOptions())).Keys, k => k.StartsWith("Email__", StringComparison.Ordinal));
    }
}
