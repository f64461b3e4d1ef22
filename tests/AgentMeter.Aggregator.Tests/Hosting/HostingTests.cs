using System.Net;
using AgentMeter.Aggregator.Auth;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Hosting;

public class CommandLineTests
{
    [Fact]
    public void CollectsRepeatedResourcesAndPassesTheRestToAspNet()
    {
        var cli = CommandLine.Parse(["aggregate", "--from", "2026-01-01", "--resources", "a.yaml", "--urls", "http://127.0.0.1:1", "--resources", "dir"]);
        Assert.Equal("aggregate", cli.Verb);
        Assert.Equal(["a.yaml", "dir"], cli.ResourcePaths);
        Assert.Equal(new DateOnly(2026, 1, 1), cli.From);
        Assert.Equal(["--urls", "http://127.0.0.1:1"], cli.HostArgs);
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "unknown command \"frobnicate\"")]
    [InlineData(new[] { "aggregate" }, "aggregate needs --from")]
    [InlineData(new[] { "aggregate", "--from", "01/02/2026" }, "--from \"01/02/2026\" is not a date YYYY-MM-DD")]
    [InlineData(new[] { "aggregate", "--from", "2026-02-02", "--to", "2026-02-01" }, "is after --to")]
    [InlineData(new[] { "serve", "--resources" }, "--resources needs a value")]
    public void BadArgumentsSayWhatToFix(string[] args, string message)
    {
        var e = Assert.Throws<CommandLineException>(() => CommandLine.Parse(args));
        Assert.Contains(message, e.Message);
    }
}

public class LoopbackGuardTests
{
    private static IConfiguration Config(params (string, string)[] kv) =>
        new ConfigurationBuilder().AddInMemoryCollection(kv.ToDictionary(x => x.Item1, x => (string?)x.Item2)).Build();

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://+:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://127.0.0.1:8080;http://10.1.2.3:8080")]
    public void WithoutTokensANonLoopbackAddressIsRefused(string urls)
    {
        var e = Assert.Throws<InvalidOperationException>(() => AuthSetup.EnsureLoopbackWhenOpen(new AuthOptions(), Config(("urls", urls))));
        Assert.Contains("only listens on loopback", e.Message);
    }

    [Fact]
    public void HttpPortsBindsEveryInterfaceSoItIsRefusedToo() =>
        Assert.Throws<InvalidOperationException>(() => AuthSetup.EnsureLoopbackWhenOpen(new AuthOptions(), Config(("HTTP_PORTS", "8080"))));

    [Theory]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("http://localhost:8080")]
    [InlineData("http://[::1]:8080")]
    public void LoopbackIsFine(string urls) => AuthSetup.EnsureLoopbackWhenOpen(new AuthOptions(), Config(("urls", urls)));

    [Fact]
    public void LoopbackFromEverySettingIsFine() =>
        AuthSetup.EnsureLoopbackWhenOpen(new AuthOptions(), Config(("Kestrel:Endpoints:Http:Url", "http://127.0.0.1:8080"),
            ("DOTNET_URLS", "http://localhost:9000"), ("ASPNETCORE_URLS", "http://[::1]:9001"), ("HTTP_PORTS", "8080")));

    [Fact]
    public void AScrapeTokenAloneLeavesTheServiceOpenSoItStaysOnLoopback() =>
        Assert.Throws<InvalidOperationException>(() =>
            AuthSetup.EnsureLoopbackWhenOpen(new AuthOptions { MetricsToken = "scrape" }, Config(("urls", "http://0.0.0.0:8080"))));

    [Fact]
    public void AnyConfiguredTokenAllowsEveryInterface() =>
        AuthSetup.EnsureLoopbackWhenOpen(new AuthOptions { IngestToken = "x" }, Config(("urls", "http://0.0.0.0:8080")));
}

public class HealthAndAuthTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task HealthAndReadinessNeedNoToken()
    {
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Auth:AdminToken"] = "admin-secret" });
        using var client = host.Client();
        Assert.Equal("ok", await client.GetStringAsync("/healthz"));
        Assert.Equal("ok", await client.GetStringAsync("/readyz"));
    }

    [Fact]
    public async Task ProtectedEndpointsWantTheRightToken()
    {
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:AdminToken"] = "admin-secret",
            ["Auth:TenantTokens:acme"] = "acme-secret",
        });
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/api/v1/resources")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client("wrong").GetAsync("/api/v1/resources")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.Client("acme-secret").GetAsync("/api/v1/resources")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client("admin-secret").GetAsync("/api/v1/resources")).StatusCode);
    }

    [Fact]
    public async Task JsonAnswersAreCompressedWhenTheClientAcceptsIt()
    {
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?> { ["Auth:AdminToken"] = "admin-secret" });
        using var plain = host.Client("admin-secret");
        var expected = await plain.GetStringAsync("/api/v1/analytics/usage?period=7d&group_by=agent");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/analytics/usage?period=7d&group_by=agent");
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        using var response = await plain.SendAsync(request);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        await using var gzip = new System.IO.Compression.GZipStream(await response.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress);
        Assert.Equal(expected, await new StreamReader(gzip).ReadToEndAsync());
    }

    [Fact]
    public void TenantTokensCanComeFromAMountedSecretFolder()
    {
        using var dir = new TempFolder();
        dir.Write("globex", "globex-secret\n");
        var options = new AuthOptions { TenantTokensPath = dir.Path };
        Assert.Equal([new KeyValuePair<string, string>("globex", "globex-secret")], options.AllTenantTokens());
        Assert.True(options.AnyTokenConfigured);

        // Read again only after TenantTokensRefresh: a rotated token replaces the old one then.
        dir.Write("globex", "rotated");
        Assert.Equal("globex-secret", options.AllTenantTokens().Single().Value);
        options.TenantTokensRefresh = TimeSpan.Zero;
        Assert.Equal("rotated", options.AllTenantTokens().Single().Value);
    }

    [Theory]
    [InlineData(null, null, null, false)]
    [InlineData(null, "acme", "acme", false)]
    [InlineData("acme", null, "acme", false)]
    [InlineData("acme", "acme", "acme", false)]
    [InlineData("acme", "globex", "acme", true)]
    public void TenantScopeConfinesTenantTokens(string? own, string? requested, string? effective, bool forbidden)
    {
        var claims = new List<System.Security.Claims.Claim>();
        if (own is not null) claims.Add(new(Caller.TenantClaim, own));
        var user = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(claims, "test"));
        Assert.Equal(new TenantScope(effective, forbidden), user.Scope(requested));
    }
}
