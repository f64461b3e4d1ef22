using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AgentMeter.Aggregator.Auth;

/// <summary>
/// Maps <c>Authorization: Bearer</c> to a role (admin, ingest, tenant, metrics). Started with no
/// token configured (<see cref="AuthMode"/>), every caller is the admin: the service then refuses to
/// listen beyond loopback.
/// </summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AuthOptions tokens, AuthMode mode)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (mode.Open)
            return Task.FromResult(Success(Roles.Admin, null));

        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(AuthenticateResult.NoResult());
        var presented = header["Bearer ".Length..].Trim();

        if (Matches(presented, tokens.AdminToken)) return Task.FromResult(Success(Roles.Admin, null));
        if (Matches(presented, tokens.IngestToken)) return Task.FromResult(Success(Roles.Ingest, null));
        if (Matches(presented, tokens.MetricsToken)) return Task.FromResult(Success(Roles.Metrics, null));
        foreach (var (tenant, token) in tokens.AllTenantTokens())
            if (Matches(presented, token)) return Task.FromResult(Success(Roles.Tenant, tenant));
        // A tenant's gateway: may post (the ingest role), pinned to its tenant (the claim ingest reads).
        foreach (var (tenant, token) in tokens.AllTenantIngestTokens())
            if (Matches(presented, token)) return Task.FromResult(Success(Roles.Ingest, tenant));
        return Task.FromResult(AuthenticateResult.Fail("unknown bearer token"));
    }

    private AuthenticateResult Success(string role, string? tenant)
    {
        var claims = new List<Claim> { new(ClaimTypes.Role, role) };
        if (tenant is not null) claims.Add(new Claim(Caller.TenantClaim, tenant));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private static bool Matches(string presented, string? expected) =>
        !string.IsNullOrEmpty(expected) &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));
}
