using System.Security.Claims;

namespace AgentMeter.Aggregator.Auth;

public static class Roles
{
    public const string Admin = "admin";
    public const string Ingest = "ingest";
    public const string Tenant = "tenant";
    /// <summary>The scrape token (Auth__MetricsToken): /metrics only.</summary>
    public const string Metrics = "metrics";
}

public static class Policies
{
    /// <summary>Posting events: the admin or the ingest token.</summary>
    public const string Ingest = "ingest";
    /// <summary>Reading analytics: the admin token, or a tenant token (scoped to its tenant).</summary>
    public const string Read = "read";
    public const string Admin = "admin";
    /// <summary>Scraping /metrics when Metrics__RequireToken is on: the metrics or the admin token.</summary>
    public const string Metrics = "metrics";
}

/// <summary>Who is calling, as far as data scoping goes.</summary>
public static class Caller
{
    public const string TenantClaim = "agentmeter/tenant";

    /// <summary>The tenant a caller is confined to; null for the admin (sees all).</summary>
    public static string? Tenant(this ClaimsPrincipal user) => user.FindFirstValue(TenantClaim);

    /// <summary>
    /// Resolves the tenant filter of a request. The admin may ask for any tenant (or none = all);
    /// a tenant token may ask only for its own: anything else is a 403, never an empty answer.
    /// </summary>
    public static TenantScope Scope(this ClaimsPrincipal user, string? requestedTenant)
    {
        var own = user.Tenant();
        if (own is null) return new TenantScope(string.IsNullOrEmpty(requestedTenant) ? null : requestedTenant, Forbidden: false);
        if (string.IsNullOrEmpty(requestedTenant) || requestedTenant == own) return new TenantScope(own, Forbidden: false);
        return new TenantScope(own, Forbidden: true);
    }
}

/// <summary>Tenant filter of a request: null means every tenant.</summary>
public sealed record TenantScope(string? TenantId, bool Forbidden);
