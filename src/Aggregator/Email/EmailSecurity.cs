namespace AgentMeter.Aggregator.Email;

/// <summary>How the connection to the SMTP server is protected (<c>Email__Security</c>).</summary>
public enum EmailSecurity
{
    /// <summary>Plain SMTP, no TLS (a relay on the same host or node only).</summary>
    None,
    /// <summary>Plain connect, then STARTTLS, which the server must offer (port 587).</summary>
    StartTls,
    /// <summary>TLS from the first byte (port 465).</summary>
    Tls,
}
