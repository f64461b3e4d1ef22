using System.Net;
using Microsoft.AspNetCore.Authentication;

namespace AgentMeter.Aggregator.Auth;

public static class AuthSetup
{
    public static WebApplicationBuilder AddTokenAuth(this WebApplicationBuilder builder)
    {
        var tokens = builder.Configuration.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        builder.Services.AddSingleton(tokens);
        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Ingest, p => p.RequireRole(Roles.Admin, Roles.Ingest))
            .AddPolicy(Policies.Read, p => p.RequireRole(Roles.Admin, Roles.Tenant))
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin));
        return builder;
    }

    /// <summary>
    /// With no token configured, nothing asks for one, so the service must not be reachable from
    /// other hosts: refuse any listen address that is not loopback.
    /// </summary>
    public static void EnsureLoopbackWhenOpen(AuthOptions tokens, IConfiguration config)
    {
        if (tokens.AnyTokenConfigured) return;
        var urls = config["urls"] ?? config["ASPNETCORE_URLS"];
        if (string.IsNullOrEmpty(urls) && !string.IsNullOrEmpty(config["HTTP_PORTS"] ?? config["ASPNETCORE_HTTP_PORTS"]))
            throw new InvalidOperationException(
                "no Auth__AdminToken, Auth__IngestToken, Auth__TenantTokens__* or Auth__TenantIngestTokens__* is set, so the aggregator only listens on loopback; " +
                "HTTP_PORTS listens on every interface: set --urls http://127.0.0.1:PORT or configure a token");
        foreach (var url in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var host = BindingAddress.Parse(url).Host;
            var loopback = host == "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
            if (!loopback)
                throw new InvalidOperationException(
                    $"no Auth__AdminToken, Auth__IngestToken, Auth__TenantTokens__* or Auth__TenantIngestTokens__* is set, so the aggregator only listens on loopback; " +
                    $"refusing {url}: configure a token or listen on 127.0.0.1");
        }
    }
}
