using System.Diagnostics;
using System.Net;
using AgentMeter.Aggregator.Hosting;
using AgentMeter.Aggregator.Tests.Infrastructure;

namespace AgentMeter.Aggregator.Tests.Hosting;

/// <summary>
/// Whether the aggregator runs without tokens is decided once, at start. Before, it was decided per
/// request: a tenant-token Secret emptied during a rotation turned every caller into the admin.
/// </summary>
public class AuthModeTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task ATokenFolderThatEmptiesAfterStartOpensNothing()
    {
        using var tokens = new TempFolder();
        var file = tokens.Write("acme", "acme-secret");
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:TenantTokensPath"] = tokens.Path,
            ["Auth:TenantTokensRefresh"] = "00:00:00",
        });
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/api/v1/analytics/usage")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client("acme-secret").GetAsync("/api/v1/analytics/usage")).StatusCode);

        File.Delete(file); // the mounted Secret, mid-rotation
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/api/v1/analytics/usage")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("/api/v1/resources")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client("acme-secret").GetAsync("/api/v1/analytics/usage")).StatusCode);

        // The rotated token works as soon as it is mounted.
        tokens.Write("acme", "rotated");
        Assert.Equal(HttpStatusCode.OK, (await host.Client("rotated").GetAsync("/api/v1/analytics/usage")).StatusCode);
    }

    [Fact]
    public async Task StartedWithoutTokensItStaysOpenOnLoopbackOnly()
    {
        using var tokens = new TempFolder();
        await using var host = await AggregatorHost.StartAsync(db.ConnectionString, new Dictionary<string, string?>
        {
            ["Auth:TenantTokensPath"] = tokens.Path,
            ["Auth:TenantTokensRefresh"] = "00:00:00",
        });
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("/api/v1/resources")).StatusCode);
        // A token file appearing later does not close the service behind its back: decided at start.
        tokens.Write("acme", "acme-secret");
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("/api/v1/resources")).StatusCode);
    }

    [Theory]
    [InlineData("DOTNET_URLS", "http://0.0.0.0:8080", "refusing http://0.0.0.0:8080 (DOTNET_URLS)")]
    [InlineData("ASPNETCORE_URLS", "http://+:8080", "refusing http://+:8080 (ASPNETCORE_URLS)")]
    [InlineData("Kestrel__Endpoints__Public__Url", "http://10.1.2.3:8080", "refusing http://10.1.2.3:8080 (Kestrel__Endpoints__Public__Url)")]
    [InlineData("ASPNETCORE_HTTP_PORTS", "8080", "ASPNETCORE_HTTP_PORTS listens on every interface")]
    public async Task TheBinaryRefusesAnOpenListenerBeyondLoopbackFromTheEnvironment(string variable, string value, string message)
    {
        // The real binary with only this variable set (and nothing to reach the database with): refused before anything starts.
        var start = new ProcessStartInfo("dotnet", [typeof(AggregatorApp).Assembly.Location])
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_") || k.StartsWith("DOTNET_URLS") || k.StartsWith("Kestrel__") || k.StartsWith("Auth__")).ToList())
            start.Environment.Remove(key);
        start.Environment[variable] = value;
        start.Environment["ConnectionStrings__Postgres"] = "Host=127.0.0.1;Port=1;Timeout=1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, process.ExitCode);
        Assert.Contains(message, await stderr);
    }
}
