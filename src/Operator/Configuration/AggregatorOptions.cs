namespace AgentMeter.Operator.Configuration;

/// <summary>Section <c>Aggregator</c>: how the operator deploys the aggregator (docs/contracts.md).</summary>
public sealed class AggregatorOptions
{
    public const string Name = "agentmeter-aggregator";
    public const int Port = 8080;

    public string Image { get; set; } = "ghcr.io/agentmeter/agentmeter:latest";
    public int Replicas { get; set; } = 1;
    public SecretKeyOption DatabaseSecret { get; set; } = new() { Name = "agentmeter-database", Key = "connection-string" };
    public SecretKeyOption AuthSecret { get; set; } = new() { Name = "agentmeter-auth" };
    public string TenantTokensSecret { get; set; } = "";
    /// <summary>The aggregator's OTLP/gRPC port (<c>Otlp__GrpcPort</c>), on the Service as <c>otlp-grpc</c>; 0 turns it off.</summary>
    public int OtlpGrpcPort { get; set; } = 4317;
    public ResourceOptions Resources { get; set; } = new();
    /// <summary>Where status is read from; empty = <c>http://agentmeter-aggregator.&lt;ns&gt;.svc:8080</c>.</summary>
    public string Url { get; set; } = "";

    public Uri ResolveUrl(string ns) =>
        new(string.IsNullOrEmpty(Url) ? $"http://{Name}.{ns}.svc:{Port}" : Url);
}

public sealed class SecretKeyOption
{
    public string Name { get; set; } = "";
    public string Key { get; set; } = "";
}

public sealed class ResourceOptions
{
    public ResourceQuantities Requests { get; set; } = new() { Cpu = "100m", Memory = "256Mi" };
    public ResourceQuantities Limits { get; set; } = new() { Memory = "512Mi" };
}

public sealed class ResourceQuantities
{
    public string Cpu { get; set; } = "";
    public string Memory { get; set; } = "";
}
