using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using AgentMeter.Dashboard.Tests.Infrastructure;

namespace AgentMeter.Dashboard.Tests;

/// <summary>How the aggregator serves the embedded bundle: over HTTP, as a browser or proxy sees it.</summary>
[Collection(DashboardCollection.Name)]
public sealed partial class DashboardEndpointsTests(DashboardFixture fixture)
{
    private static readonly HttpClient Http = new(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None });

    [Fact]
    public async Task IndexNeedsNoTokenIsRevalidatedAndLocksDownWhatThePageMayLoad()
    {
        using var response = await Http.GetAsync(fixture.BaseUrl + "/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", policy);
        Assert.Contains("script-src 'self'", policy);
        Assert.Contains("connect-src 'self'", policy);

        // No CDN: every script and stylesheet is a relative path into the bundle.
        var html = await response.Content.ReadAsStringAsync();
        var references = AssetReference().Matches(html).Select(match => match.Groups[1].Value).ToList();
        Assert.Equal(2, references.Count);
        Assert.All(references, reference => Assert.StartsWith("assets/", reference));
    }

    [Fact]
    public async Task AssetsAreGzippedImmutableAndRevalidatedByEtag()
    {
        var html = await Http.GetStringAsync(fixture.BaseUrl + "/");
        var script = AssetReference().Matches(html).Select(match => match.Groups[1].Value).Single(path => path.EndsWith(".js"));

        using var plain = await Http.GetAsync($"{fixture.BaseUrl}/{script}");
        var plainBytes = await plain.Content.ReadAsByteArrayAsync();
        Assert.Equal("text/javascript", plain.Content.Headers.ContentType?.MediaType);
        Assert.Empty(plain.Content.Headers.ContentEncoding);
        Assert.Contains("immutable", plain.Headers.CacheControl?.ToString());
        Assert.DoesNotContain("cdn.", System.Text.Encoding.UTF8.GetString(plainBytes), StringComparison.OrdinalIgnoreCase);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"{fixture.BaseUrl}/{script}");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var gzipped = await Http.SendAsync(request);
        Assert.Equal(["gzip"], gzipped.Content.Headers.ContentEncoding);
        var gzippedBytes = await gzipped.Content.ReadAsByteArrayAsync();
        Assert.True(gzippedBytes.Length < plainBytes.Length / 2, $"{gzippedBytes.Length} gzipped vs {plainBytes.Length}");
        await using (var unzip = new System.IO.Compression.GZipStream(new MemoryStream(gzippedBytes), System.IO.Compression.CompressionMode.Decompress))
        {
            using var copy = new MemoryStream();
            await unzip.CopyToAsync(copy);
            Assert.Equal(plainBytes, copy.ToArray());
        }

        using var again = new HttpRequestMessage(HttpMethod.Get, $"{fixture.BaseUrl}/{script}");
        again.Headers.IfNoneMatch.Add(plain.Headers.ETag!);
        using var notModified = await Http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [Fact]
    public async Task UnknownAssetsAre404()
    {
        using var response = await Http.GetAsync(fixture.BaseUrl + "/assets/app-NOPE.js");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var traversal = await Http.GetAsync(fixture.BaseUrl + "/assets/..%2Findex.html");
        Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
    }

    [GeneratedRegex("(?:src|href)=\"([^\"]+\\.(?:js|css))\"")]
    private static partial Regex AssetReference();
}
