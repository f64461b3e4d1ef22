using System.Net;
using Microsoft.AspNetCore.Authentication;

namespace AgentMeter.Aggregator.Auth;

public static class AuthSetup
{
    public static WebApplicationBuilder AddTokenAuth(this WebApplicationBuilder builder)
    {
        var tokens = builder.Configuration.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        EnsureLoopbackWhenOpen(tokens, builder.Configuration);
        builder.Services.AddSingleton(tokens);
        builder.Services.AddSingleton(new AuthMode(!tokens.AnyTokenConfigured));
        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Ingest, p => p.RequireRole(Roles.Admin, Roles.Ingest))
            .AddPolicy(Policies.Read, p => p.RequireRole(Roles.Admin, Roles.Tenant))
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Policies.Metrics, p => p.RequireRole(Roles.Admin, Roles.Metrics));
        return builder;
    }

    private const string Open =
        "no Auth__AdminToken, Auth__IngestToken, Auth__TenantTokens__* or Auth__TenantIngestTokens__* is set, so the aggregator only listens on loopback; ";

    /// <summary>
    /// With no token configured, nothing asks for one, so the service must not be reachable from
    /// other hosts: refuse any listen address that is not loopback, wherever it is configured
    /// (--urls, ASPNETCORE_URLS, DOTNET_URLS, Kestrel__Endpoints__*__Url, or the *_PORTS variables,
    /// which listen on every interface). An address is refused even where another setting would
    /// override it: the listener must not depend on precedence rules to stay private.
    /// </summary>
    public static void EnsureLoopbackWhenOpen(AuthOptions tokens, IConfiguration config)
    {
        if (tokens.AnyTokenConfigured) return;
        var addresses = new List<(string Setting, string Url)>();
        foreach (var (key, setting) in new[] { ("urls", "--urls"), ("ASPNETCORE_URLS", "ASPNETCORE_URLS"), ("DOTNET_URLS", "DOTNET_URLS") })
            foreach (var url in (config[key] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                addresses.Add((setting, url));
        foreach (var endpoint in config.GetSection("Kestrel:Endpoints").GetChildren())
            if (endpoint["Url"] is { Length: > 0 } url)
                addresses.Add(($"Kestrel__Endpoints__{endpoint.Key}__Url", url));
        if (addresses.Count == 0)
            foreach (var ports in new[] { "HTTP_PORTS", "HTTPS_PORTS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_HTTP_PORTS", "DOTNET_HTTPS_PORTS" })
                if (!string.IsNullOrEmpty(config[ports]))
                    throw new InvalidOperationException(Open + $"{ports} listens on every interface: set --urls http://127.0.0.1:PORT or configure a token");
        foreach (var (setting, url) in addresses)
        {
            var host = BindingAddress.Parse(url).Host;
            var loopback = host == "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
            if (!loopback)
                throw new InvalidOperationException(Open + $"refusing {url} ({setting}): configure a token or listen on 127.0.0.1");
        }
    }
}
