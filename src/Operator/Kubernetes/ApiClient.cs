using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using k8s;
using k8s.Authentication;
using k8s.Exceptions;

namespace AgentMeter.Operator.Kubernetes;

/// <summary>
/// Requests to the API server, with the address, TLS and credentials of a kubeconfig or of the pod's service account
/// set up as KubernetesClient's own client does (its static helpers; the credentials re-read a rotated token), and
/// bodies read and written as JSON trees or through <see cref="EntityJson"/>. That client itself is not constructed:
/// its constructor and typed operations carry its serializer for every Kubernetes model, which Native AOT compiles into
/// the binary whether it is used or not (15 MB of the binary, 10 MB of peak memory; docs/benchmarks.md). A refused request
/// throws <see cref="ApiRefusedException"/> with its status code and <c>Retry-After</c>.
/// </summary>
public sealed class ApiClient : IDisposable
{
    public const string Json = "application/json";
    public const string ApplyPatch = "application/apply-patch+yaml";

    // The server's address without its trailing slash, made once: each request appends its path to it.
    private readonly string _base;
    private readonly HttpClient _http;
    private readonly ServiceClientCredentials? _credentials;
    private readonly TimeSpan _requestTimeout;

    public ApiClient(KubernetesClientConfiguration config)
    {
        if (string.IsNullOrWhiteSpace(config.Host)) throw new KubeConfigException("the Kubernetes API server's address (host) is not set");
        var baseUri = new Uri(config.Host);
        _base = baseUri.ToString().TrimEnd('/');
        // Keep-alive pings find a dead connection under a long watch, as KubernetesClient's own handler does.
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            KeepAlivePingDelay = TimeSpan.FromMinutes(3),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        };
        if (baseUri.Scheme == Uri.UriSchemeHttps)
        {
            if (config.SkipTlsVerify)
                handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            else
            {
                var authorities = config.SslCaCerts ?? throw new KubeConfigException("no certificate authority for the API server, and insecure-skip-tls-verify is not set");
                handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                    certificate is not null && chain is not null && k8s.Kubernetes.CertificateValidationCallBack(sender, authorities, certificate, chain, errors);
            }
            if (!string.IsNullOrEmpty(config.TlsServerName)) handler.SslOptions.TargetHost = config.TlsServerName;
            if (ClientCertificate(config) is { } clientCertificate) handler.SslOptions.ClientCertificates = [clientCertificate];
        }
        _credentials = k8s.Kubernetes.CreateCredentials(config);
        // Watches stay open for minutes, so the client has no timeout of its own; every request is bounded below
        // by the configuration's timeout (100 s unless set), as KubernetesClient bounds its typed requests.
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _requestTimeout = config.HttpClientTimeout;
    }

    /// <summary>
    /// Sends one request; the answer must start within the request timeout (with
    /// <see cref="HttpCompletionOption.ResponseContentRead"/>, arrive whole within it). A watch's body then streams.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery,
        HttpContent? content, HttpCompletionOption completion, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(_requestTimeout);
        using var request = new HttpRequestMessage(method, $"{_base}/{pathAndQuery}") { Content = content };
        if (_credentials is not null) await _credentials.ProcessHttpRequestAsync(request, bounded.Token);
        var response = await _http.SendAsync(request, completion, bounded.Token);
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            throw new ApiRefusedException($"{method} {PathOf(pathAndQuery)}: HTTP {(int)response.StatusCode} {await StatusMessageAsync(response, bounded.Token)}",
                response.StatusCode, ApiErrors.RetryAfter(response));
        }
    }

    /// <summary>The response body as a JSON object.</summary>
    public async Task<JsonObject> JsonAsync(HttpMethod method, string pathAndQuery, HttpContent? content, CancellationToken ct)
    {
        using var response = await SendAsync(method, pathAndQuery, content, HttpCompletionOption.ResponseContentRead, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        return (await JsonNode.ParseAsync(body, cancellationToken: ct))?.AsObject()
               ?? throw new JsonException($"{method} {PathOf(pathAndQuery)}: empty response");
    }

    /// <summary>The response body as <typeparamref name="T"/>.</summary>
    public async Task<T> ReadAsync<T>(HttpMethod method, string pathAndQuery, HttpContent? content, CancellationToken ct)
    {
        using var response = await SendAsync(method, pathAndQuery, content, HttpCompletionOption.ResponseContentRead, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        return await JsonSerializer.DeserializeAsync(body, EntityJson.Info<T>(), ct)
               ?? throw new JsonException($"{method} {PathOf(pathAndQuery)}: empty response");
    }

    public static HttpContent Body(JsonNode body, string mediaType = Json) => new StringContent(body.ToJsonString(), Encoding.UTF8, mediaType);

    public static HttpContent ModelBody<T>(T model) => new StringContent(JsonSerializer.Serialize(model, EntityJson.Info<T>()), Encoding.UTF8, Json);

    public void Dispose() => _http.Dispose();

    /// <summary>A request's path without its query, for messages.</summary>
    private static string PathOf(string pathAndQuery) => pathAndQuery.Split('?')[0];

    /// <summary>The kubeconfig's client certificate and key (PEM, inline as base64 or in files); null when it has none.</summary>
    private static X509Certificate2? ClientCertificate(KubernetesClientConfiguration config)
    {
        var certificate = Pem(config.ClientCertificateData, config.ClientCertificateFilePath);
        var key = Pem(config.ClientCertificateKeyData, config.ClientKeyFilePath);
        return certificate is null || key is null ? null : X509Certificate2.CreateFromPem(certificate, key);
    }

    private static string? Pem(string? base64, string? path) =>
        !string.IsNullOrEmpty(base64) ? Encoding.UTF8.GetString(Convert.FromBase64String(base64))
        : !string.IsNullOrEmpty(path) ? File.ReadAllText(path)
        : null;

    /// <summary>The <c>message</c> of the v1 Status the API server answers with: what was refused and why, never object data.</summary>
    private static async Task<string> StatusMessageAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            return JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? response.ReasonPhrase ?? "";
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return response.ReasonPhrase ?? "";
        }
    }
}
