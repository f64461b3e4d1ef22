namespace AgentMeter.Aggregator.Otlp;

/// <summary>Section <c>Otlp</c>: the OpenTelemetry trace receivers (docs/otlp.md).</summary>
public sealed class OtlpOptions
{
    /// <summary>Span (else resource) attribute that names the tenant; no convention fixes one.</summary>
    public string TenantAttribute { get; set; } = "tenant.id";
    /// <summary>Span (else resource) attribute that names the user.</summary>
    public string UserAttribute { get; set; } = "user.id";
    /// <summary>Cleartext HTTP/2 port of OTLP/gRPC, on the hosts the HTTP port listens on; 0 turns it off.</summary>
    public int GrpcPort { get; set; } = 4317;

    /// <summary>The one thing wrong with the settings, or null.</summary>
    public string? Problem() =>
        GrpcPort is < 0 or > 65535 ? $"Otlp__GrpcPort must be a TCP port (1-65535) or 0 (off), got {GrpcPort}"
        : string.IsNullOrWhiteSpace(TenantAttribute) ? "Otlp__TenantAttribute must name an attribute (default tenant.id)"
        : string.IsNullOrWhiteSpace(UserAttribute) ? "Otlp__UserAttribute must name an attribute (default user.id)"
        : null;
}
