using System.Net;

namespace AgentMeter.Operator.Kubernetes;

/// <summary>A request the API server answered with an error status, with its <c>Retry-After</c> when it sent one.</summary>
public sealed class ApiRefusedException(string message, HttpStatusCode status, TimeSpan? retryAfter)
    : HttpRequestException(message, null, status)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>What the operator's loops need to know about a failed API request.</summary>
public static class ApiErrors
{
    /// <summary>The server's <c>Retry-After</c> (429, 503), capped at five minutes; null when it sent none.</summary>
    public static TimeSpan? RetryAfter(Exception e) => e switch
    {
        ApiRefusedException refused => refused.RetryAfter,
        _ => null,
    };

    /// <summary>A response's <c>Retry-After</c> in seconds (the API server's form; it sends no HTTP date), capped at five minutes.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta is { } delta ? TimeSpan.FromSeconds(Math.Min(delta.TotalSeconds, 300)) : null;

    /// <summary>A short description for logs: status code and the API server's message, never a body that could hold data.</summary>
    public static string Describe(Exception e) => e switch
    {
        ApiRefusedException r => r.Message + (r.RetryAfter is { } after ? $", retry after {after.TotalSeconds:N0} s" : ""),
        _ => e.Message,
    };
}
