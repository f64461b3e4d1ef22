using AgentMeter.Entities.Validation;

namespace AgentMeter.Operator.Configuration;

/// <summary>Section <c>Aggregator</c>: how the operator deploys the aggregator (docs/contracts.md).</summary>
public sealed class AggregatorOptions
{
    public const string Name = "agentmeter-aggregator";
    public const int Port = 8080;

    public string Image { get; set; } = "ghcr.io/agentmeter/agentmeter:latest";
    public int Replicas { get; set; } = 1;
    /// <summary>The aggregator pods' ServiceAccount: config/rbac gives it read access to the hand-off objects of this namespace only.</summary>
    public string ServiceAccount { get; set; } = "agentmeter-aggregator";
    public SecretKeyOption DatabaseSecret { get; set; } = new() { Name = "agentmeter-database", Key = "connection-string" };
    public SecretKeyOption AuthSecret { get; set; } = new() { Name = "agentmeter-auth" };
    public string TenantTokensSecret { get; set; } = "";
    /// <summary>Secret with one key per tenant id (value: that tenant's ingest token), mounted as <c>Auth__TenantIngestTokensPath</c>.</summary>
    public string TenantIngestTokensSecret { get; set; } = "";
    /// <summary>Registry credentials (Secret names in the operator's namespace) for the aggregator's pods.</summary>
    public List<string> ImagePullSecrets { get; set; } = [];
    public WebhookSettings Webhooks { get; set; } = new();
    public EmailSettings Email { get; set; } = new();
    /// <summary>The aggregator's OTLP/gRPC port (<c>Otlp__GrpcPort</c>), on the Service as <c>otlp-grpc</c>; 0 turns it off.</summary>
    public int OtlpGrpcPort { get; set; } = 4317;
    public ContainerResources Resources { get; set; } = new();
    /// <summary>Where status is read from; empty = <c>http://agentmeter-aggregator.&lt;ns&gt;.svc:8080</c>.</summary>
    public string Url { get; set; } = "";

    public Uri ResolveUrl(string ns) =>
        new(string.IsNullOrEmpty(Url) ? $"http://{Name}.{ns}.svc:{Port}" : Url);

    /// <summary>What validation depends on; the operator validates with the same PagerDuty hosts the aggregator gets.</summary>
    public ResourceRules Rules() => new(Webhooks.PagerDutyHosts);
}

/// <summary>The aggregator's <c>Webhooks__*</c> settings the operator passes on.</summary>
public sealed class WebhookSettings
{
    /// <summary><c>Webhooks__AllowedTargets</c>: hosts or CIDR ranges webhooks may reach beside public addresses.</summary>
    public List<string> AllowedTargets { get; set; } = [];
    /// <summary><c>Webhooks__Proxy</c>: egress proxy URL for webhook deliveries; empty: direct.</summary>
    public string Proxy { get; set; } = "";
    /// <summary><c>Webhooks__PagerDutyHosts</c>: hosts besides the PagerDuty Events API a routing key may go to.</summary>
    public List<string> PagerDutyHosts { get; set; } = [];
}

/// <summary>The aggregator's <c>Email__*</c> settings the operator passes on; no <see cref="Host"/>: no mail.</summary>
public sealed class EmailSettings
{
    public string Host { get; set; } = "";
    /// <summary>0: the port of <see cref="Security"/> (25, 587 or 465).</summary>
    public int Port { get; set; }
    public string From { get; set; } = "";
    /// <summary>None | StartTls | Tls.</summary>
    public string Security { get; set; } = "StartTls";
    /// <summary>Secret (keys <c>username</c>, <c>password</c>) mounted into the aggregator as <c>Email__UserNameFile</c> / <c>Email__PasswordFile</c>; empty: no SMTP authentication.</summary>
    public string CredentialsSecret { get; set; } = "";
    /// <summary>The dashboard's address as mail recipients reach it; empty: no link.</summary>
    public string DashboardUrl { get; set; } = "";
}

public sealed class SecretKeyOption
{
    public string Name { get; set; } = "";
    public string Key { get; set; } = "";
}

public sealed class ContainerResources
{
    public ResourceQuantities Requests { get; set; } = new() { Cpu = "100m", Memory = "256Mi" };
    public ResourceQuantities Limits { get; set; } = new() { Memory = "512Mi" };
}

public sealed class ResourceQuantities
{
    public string Cpu { get; set; } = "";
    public string Memory { get; set; } = "";
}
