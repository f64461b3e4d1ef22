using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using AgentMeter.Operator.Kubernetes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace AgentMeter.Operator.Tests.Kubernetes;

/// <summary>
/// The operator's own API client against a real TLS server on loopback, as a kubeconfig describes one: the server is
/// trusted only through the configured certificate authority, the client presents its certificate and sends its token.
/// </summary>
public sealed class ApiClientTests
{
    private static readonly (X509Certificate2 Authority, X509Certificate2 Server, X509Certificate2 Client) Certificates = Issue();

    [Fact]
    public async Task TrustsTheServerThroughTheConfiguredAuthorityAndSendsItsCertificateAndToken()
    {
        await using var server = await StartAsync();
        using var client = new ApiClient(Configuration(server, Certificates.Authority, withClientCertificate: true));

        var seen = await client.JsonAsync(HttpMethod.Get, "api/v1/namespaces/ns/configmaps/x", null, CancellationToken.None);

        Assert.Equal("Bearer token-1", (string?)seen["authorization"]);
        Assert.Equal(Certificates.Client.Thumbprint, (string?)seen["clientCertificate"]);
        Assert.Equal("/api/v1/namespaces/ns/configmaps/x", (string?)seen["path"]);
    }

    [Fact]
    public async Task RefusesAServerItsAuthorityDidNotSign()
    {
        await using var server = await StartAsync();
        using var stranger = CertificateAuthority("CN=another authority");
        using var client = new ApiClient(Configuration(server, stranger, withClientCertificate: false));

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.JsonAsync(HttpMethod.Get, "api/v1/namespaces", null, CancellationToken.None));
        Assert.IsType<AuthenticationException>(refused.InnerException);
    }

    [Fact]
    public async Task AnErrorStatusBecomesItsCodeAndTheServersMessage()
    {
        await using var server = await StartAsync();
        using var client = new ApiClient(Configuration(server, Certificates.Authority, withClientCertificate: false));

        var refused = await Assert.ThrowsAsync<ApiRefusedException>(() =>
            client.JsonAsync(HttpMethod.Get, "api/v1/namespaces/ns/secrets/forbidden?limit=1", null, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), refused.RetryAfter);
        Assert.Equal("GET api/v1/namespaces/ns/secrets/forbidden: HTTP 403 secrets \"forbidden\" is forbidden", refused.Message);
    }

    [Fact]
    public async Task ARequestTheServerNeverAnswersEndsAtTheRequestTimeout()
    {
        await using var server = await StartAsync();
        var configuration = Configuration(server, Certificates.Authority, withClientCertificate: false);
        configuration.HttpClientTimeout = TimeSpan.FromSeconds(1);
        using var client = new ApiClient(configuration);

        var waited = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.JsonAsync(HttpMethod.Get, "api/v1/namespaces/ns/configmaps/hang", null, CancellationToken.None));
        Assert.InRange(waited.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    }

    private static KubernetesClientConfiguration Configuration(WebApplication server, X509Certificate2 authority, bool withClientCertificate) => new()
    {
        Host = server.Urls.Single(),
        SslCaCerts = new X509Certificate2Collection(authority),
        AccessToken = "token-1",
        ClientCertificateData = withClientCertificate ? Base64(Certificates.Client.ExportCertificatePem()) : null,
        ClientCertificateKeyData = withClientCertificate ? Base64(Certificates.Client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem()) : null,
    };

    private static string Base64(string pem) => Convert.ToBase64String(Encoding.UTF8.GetBytes(pem));

    private static async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = Certificates.Server,
            ClientCertificateMode = ClientCertificateMode.AllowCertificate,
            // The API server would check the client certificate against its own authority; here it is only reported.
            ClientCertificateValidation = (_, _, _) => true,
        })));
        var app = builder.Build();
        app.Run(async context =>
        {
            if (context.Request.Path.Value!.EndsWith("/forbidden", StringComparison.Ordinal))
            {
                context.Response.StatusCode = 403;
                context.Response.Headers.RetryAfter = "7";
                await context.Response.WriteAsync("""{"kind":"Status","apiVersion":"v1","status":"Failure","message":"secrets \"forbidden\" is forbidden","code":403}""");
                return;
            }
            if (context.Request.Path.Value.EndsWith("/hang", StringComparison.Ordinal))
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }
            var certificate = await context.Connection.GetClientCertificateAsync();
            await context.Response.WriteAsJsonAsync(new Dictionary<string, string?>
            {
                ["authorization"] = context.Request.Headers.Authorization.ToString(),
                ["clientCertificate"] = certificate?.Thumbprint,
                ["path"] = context.Request.Path.Value,
            });
        });
        await app.StartAsync();
        return app;
    }

    private static (X509Certificate2, X509Certificate2, X509Certificate2) Issue()
    {
        var authority = CertificateAuthority("CN=agentmeter test authority");
        var server = Signed(authority, "CN=127.0.0.1", serverAuth: true);
        var client = Signed(authority, "CN=agentmeter-operator", serverAuth: false);
        return (authority, server, client);
    }

    private static X509Certificate2 CertificateAuthority(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Signed(X509Certificate2 authority, string subject, bool serverAuth)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(8);
        using var certificate = request.Create(authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
        // Through PKCS#12, as a certificate loaded from disk would be: SslStream needs the key attached that way.
        return X509CertificateLoader.LoadPkcs12(certificate.CopyWithPrivateKey(key).Export(X509ContentType.Pkcs12), null);
    }
}
