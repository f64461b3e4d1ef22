using System.Globalization;
using System.Net;
using k8s.Autorest;

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
        HttpOperationException http when http.Response?.Headers is { } headers &&
            headers.FirstOrDefault(h => string.Equals(h.Key, "Retry-After", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault() is { } value
            => Parse(value),
        _ => null,
    };

    /// <summary>Seconds (the API server's form); an HTTP date is not used by the API server.</summary>
    public static TimeSpan? Parse(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(Math.Min(seconds, 300))
            : null;

    /// <summary>A short description for logs: status code and reason, never a body that could hold data.</summary>
    public static string Describe(Exception e) => e switch
    {
        HttpOperationException h => $"HTTP {(int)h.Response.StatusCode}" + (RetryAfter(e) is { } after ? $", retry after {after.TotalSeconds:N0} s" : ""),
        ApiRefusedException r => r.Message + (r.RetryAfter is { } after ? $", retry after {after.TotalSeconds:N0} s" : ""),
        _ => e.Message,
    };
}
