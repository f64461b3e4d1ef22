using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;
using k8s.Models;

namespace AgentMeter.Operator.Rendering;

/// <summary>The aggregator's Deployment, Service and ServiceMonitor in the operator's namespace.</summary>
public sealed class AggregatorWorkload(AggregatorOptions aggregator, MonitoringOptions monitoring, string ns)
{
    public const string TenantTokensPath = "/etc/agentmeter/tenant-tokens";
    public const string TenantIngestTokensPath = "/etc/agentmeter/tenant-ingest-tokens";
    public const string EmailCredentialsPath = "/etc/agentmeter/email";
    public const string MetricsTokenKey = "metrics-token";
    public const string OtlpGrpcPortName = "otlp-grpc";

    public DesiredObject Deployment()
    {
        var env = new List<V1EnvVar>
        {
            new() { Name = "ASPNETCORE_URLS", Value = $"http://+:{AggregatorOptions.Port}" },
            new() { Name = "ConnectionStrings__Postgres", ValueFrom = SecretEnv(aggregator.DatabaseSecret.Name, aggregator.DatabaseSecret.Key, optional: false) },
            new() { Name = "Auth__AdminToken", ValueFrom = SecretEnv(aggregator.AuthSecret.Name, "admin-token", optional: true) },
            new() { Name = "Auth__IngestToken", ValueFrom = SecretEnv(aggregator.AuthSecret.Name, "ingest-token", optional: true) },
            // The aggregator list/watches the hand-off ConfigMaps and Secrets of its own namespace (docs/operator.md).
            new() { Name = "Resources__Namespace", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } },
            new() { Name = "Otlp__GrpcPort", Value = aggregator.OtlpGrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        env.AddRange(Indexed("Webhooks__AllowedTargets", aggregator.Webhooks.AllowedTargets));
        if (aggregator.Webhooks.Proxy.Length > 0) env.Add(new V1EnvVar { Name = "Webhooks__Proxy", Value = aggregator.Webhooks.Proxy });
        env.AddRange(Indexed("Webhooks__PagerDutyHosts", aggregator.Webhooks.PagerDutyHosts));
        if (monitoring.RequireMetricsToken)
        {
            env.Add(new V1EnvVar { Name = "Metrics__RequireToken", Value = "true" });
            // Not optional: without the key the pod does not start, and its events say which key is missing.
            env.Add(new V1EnvVar { Name = "Auth__MetricsToken", ValueFrom = SecretEnv(aggregator.AuthSecret.Name, MetricsTokenKey, optional: false) });
        }
        var mounts = new List<V1VolumeMount>
        {
            new() { Name = "tmp", MountPath = "/tmp" },
        };
        var volumes = new List<V1Volume>
        {
            new() { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() },
        };
        if (aggregator.TenantTokensSecret.Length > 0)
        {
            env.Add(new V1EnvVar { Name = "Auth__TenantTokensPath", Value = TenantTokensPath });
            mounts.Add(new V1VolumeMount { Name = "tenant-tokens", MountPath = TenantTokensPath, ReadOnlyProperty = true });
            volumes.Add(new V1Volume { Name = "tenant-tokens", Secret = new V1SecretVolumeSource { SecretName = aggregator.TenantTokensSecret } });
        }
        if (aggregator.TenantIngestTokensSecret.Length > 0)
        {
            env.Add(new V1EnvVar { Name = "Auth__TenantIngestTokensPath", Value = TenantIngestTokensPath });
            mounts.Add(new V1VolumeMount { Name = "tenant-ingest-tokens", MountPath = TenantIngestTokensPath, ReadOnlyProperty = true });
            volumes.Add(new V1Volume { Name = "tenant-ingest-tokens", Secret = new V1SecretVolumeSource { SecretName = aggregator.TenantIngestTokensSecret } });
        }
        var email = aggregator.Email;
        if (email.Host.Length > 0)
        {
            env.Add(new V1EnvVar { Name = "Email__Host", Value = email.Host });
            if (email.Port > 0) env.Add(new V1EnvVar { Name = "Email__Port", Value = email.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            env.Add(new V1EnvVar { Name = "Email__From", Value = email.From });
            env.Add(new V1EnvVar { Name = "Email__Security", Value = email.Security });
            if (email.DashboardUrl.Length > 0) env.Add(new V1EnvVar { Name = "Email__DashboardUrl", Value = email.DashboardUrl });
        }
        if (email.Host.Length > 0 && email.CredentialsSecret.Length > 0)
        {
            // Files, not env: the aggregator reads them at each delivery (a rotated Secret needs no restart) and never logs them.
            env.Add(new V1EnvVar { Name = "Email__UserNameFile", Value = $"{EmailCredentialsPath}/username" });
            env.Add(new V1EnvVar { Name = "Email__PasswordFile", Value = $"{EmailCredentialsPath}/password" });
            mounts.Add(new V1VolumeMount { Name = "email-credentials", MountPath = EmailCredentialsPath, ReadOnlyProperty = true });
            volumes.Add(new V1Volume { Name = "email-credentials", Secret = new V1SecretVolumeSource { SecretName = email.CredentialsSecret } });
        }
        var container = new V1Container
        {
            Name = "aggregator",
            Image = aggregator.Image,
            Args = ["serve"],
            Env = env,
            Ports =
            [
                new V1ContainerPort { Name = "http", ContainerPort = AggregatorOptions.Port, Protocol = "TCP" },
                .. aggregator.OtlpGrpcPort > 0 ? [new V1ContainerPort { Name = OtlpGrpcPortName, ContainerPort = aggregator.OtlpGrpcPort, Protocol = "TCP" }] : Array.Empty<V1ContainerPort>(),
            ],
            VolumeMounts = mounts,
            Resources = new V1ResourceRequirements { Limits = Quantities(aggregator.Resources.Limits), Requests = Quantities(aggregator.Resources.Requests) },
            LivenessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Port = "http", Path = "/healthz" }, PeriodSeconds = 10 },
            ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Port = "http", Path = "/readyz" }, PeriodSeconds = 5 },
            // Pod Security Standard "restricted".
            SecurityContext = new V1SecurityContext
            {
                AllowPrivilegeEscalation = false,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
                ReadOnlyRootFilesystem = true,
                RunAsNonRoot = true,
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
        };
        var deployment = new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Meta(AggregatorOptions.Name, Labels.Aggregator()),
            Spec = new V1DeploymentSpec
            {
                Replicas = aggregator.Replicas,
                Selector = new V1LabelSelector { MatchLabels = Labels.AggregatorSelector() },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = Labels.Aggregator() },
                    Spec = new V1PodSpec
                    {
                        Containers = [container],
                        Volumes = volumes,
                        ImagePullSecrets = aggregator.ImagePullSecrets.Count == 0
                            ? null
                            : aggregator.ImagePullSecrets.Select(name => new V1LocalObjectReference { Name = name }).ToList(),
                        // Its token may only get/list/watch ConfigMaps and Secrets of this namespace (config/rbac).
                        ServiceAccountName = aggregator.ServiceAccount,
                        AutomountServiceAccountToken = true,
                        SecurityContext = new V1PodSecurityContext
                        {
                            RunAsNonRoot = true, RunAsUser = 65532, RunAsGroup = 65532, FsGroup = 65532,
                            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                        },
                    },
                },
            },
        };
        return new DesiredObject(ObjectKind.Deployment, ns, AggregatorOptions.Name, ResourceDocuments.ToJson(deployment));
    }

    public DesiredObject Service()
    {
        var service = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Meta(AggregatorOptions.Name, Labels.Aggregator()),
            Spec = new V1ServiceSpec
            {
                Selector = Labels.AggregatorSelector(),
                Ports =
                [
                    new V1ServicePort { Name = "http", Port = AggregatorOptions.Port, Protocol = "TCP", TargetPort = "http" },
                    // OTLP/gRPC is HTTP/2 without TLS; the HTTP port also takes OTLP/HTTP at /v1/traces.
                    .. aggregator.OtlpGrpcPort > 0
                        ? [new V1ServicePort { Name = OtlpGrpcPortName, Port = aggregator.OtlpGrpcPort, Protocol = "TCP", TargetPort = OtlpGrpcPortName, AppProtocol = "grpc" }]
                        : Array.Empty<V1ServicePort>(),
                ],
            },
        };
        return new DesiredObject(ObjectKind.Service, ns, AggregatorOptions.Name, ResourceDocuments.ToJson(service));
    }

    public DesiredObject ServiceMonitor()
    {
        var endpoint = new JsonObject { ["port"] = "http", ["path"] = "/metrics", ["interval"] = "30s" };
        // Prometheus Operator reads the token from the auth Secret (in this namespace) and sends it as a bearer token.
        if (monitoring.RequireMetricsToken)
            endpoint["authorization"] = new JsonObject
            {
                ["type"] = "Bearer",
                ["credentials"] = new JsonObject { ["name"] = aggregator.AuthSecret.Name, ["key"] = MetricsTokenKey },
            };
        var body = new JsonObject
        {
            ["apiVersion"] = ObjectKind.ServiceMonitor.ApiVersion,
            ["kind"] = ObjectKind.ServiceMonitor.Kind,
            ["metadata"] = ResourceDocuments.ToJson(Meta(AggregatorOptions.Name, Labels.Aggregator(monitoring.ServiceMonitorLabels))),
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = ResourceDocuments.ToJson(Labels.AggregatorSelector()) },
                ["endpoints"] = new JsonArray(endpoint),
            },
        };
        return new DesiredObject(ObjectKind.ServiceMonitor, ns, AggregatorOptions.Name, body);
    }

    private V1ObjectMeta Meta(string name, IDictionary<string, string> labels) =>
        new() { Name = name, NamespaceProperty = ns, Labels = labels };

    /// <summary>A list setting as ASP.NET configuration reads it from the environment: <c>NAME__0</c>, <c>NAME__1</c>, …</summary>
    private static IEnumerable<V1EnvVar> Indexed(string name, IReadOnlyList<string> values) =>
        values.Select((value, i) => new V1EnvVar { Name = $"{name}__{i}", Value = value });

    private static V1EnvVarSource SecretEnv(string secret, string key, bool optional) =>
        new() { SecretKeyRef = new V1SecretKeySelector { Name = secret, Key = key, Optional = optional } };

    private static Dictionary<string, ResourceQuantity>? Quantities(ResourceQuantities q)
    {
        var result = new Dictionary<string, ResourceQuantity>();
        if (q.Cpu.Length > 0) result["cpu"] = new ResourceQuantity(q.Cpu);
        if (q.Memory.Length > 0) result["memory"] = new ResourceQuantity(q.Memory);
        return result.Count == 0 ? null : result;
    }
}
