using Microsoft.Net.Http.Headers;

namespace AgentMeter.Aggregator.Dashboard;

/// <summary>
/// Serves the dashboard bundle (built by npm during <c>dotnet build</c> and embedded in this assembly) at
/// <c>/</c>. The page holds no data, so it needs no token; every figure comes from the analytics API,
/// which does.
/// </summary>
public static class DashboardEndpoints
{
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        var bundle = DashboardBundle.Load(typeof(DashboardEndpoints).Assembly);
        app.MapGet("/", (HttpContext context) => Serve(context, bundle, "index.html")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/index.html", (HttpContext context) => Serve(context, bundle, "index.html")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/assets/{file}", (HttpContext context, string file) => Serve(context, bundle, $"assets/{file}"))
            .AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(HttpContext context, DashboardBundle bundle, string path)
    {
        if (!bundle.TryGet(path, out var asset))
        {
            return Results.NotFound();
        }

        var headers = context.Response.Headers;
        headers.Vary = HeaderNames.AcceptEncoding;
        headers.XContentTypeOptions = "nosniff";
        // Asset names carry a content hash, so they never change; index.html names them, so it must be revalidated.
        headers.CacheControl = path == "index.html" ? "no-cache" : "public, max-age=31536000, immutable";
        if (path == "index.html")
        {
            headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
                "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
            headers["Referrer-Policy"] = "no-referrer";
        }

        var etag = new EntityTagHeaderValue(asset.ETag);
        if (context.Request.Headers.IfNoneMatch.ToString().Contains(asset.ETag, StringComparison.Ordinal))
        {
            headers.ETag = asset.ETag;
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        var acceptsGzip = context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase);
        if (acceptsGzip && asset.Gzipped is not null)
        {
            headers.ContentEncoding = "gzip";
            return Results.Bytes(asset.Gzipped, asset.ContentType, entityTag: etag);
        }

        return Results.Bytes(asset.Content, asset.ContentType, entityTag: etag);
    }
}
