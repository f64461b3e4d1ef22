using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using AgentMeter.Entities.Serialization;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentMeter.Testing.FakeApi;

/// <summary>
/// An in-process Kubernetes API server at the HTTP level (Kestrel on loopback), so the real KubernetesClient's
/// requests, patches and watch streams are exercised. Semantics follow the API server (and controller-runtime's
/// fake client where the API server is too big to copy): a global resourceVersion, 409 on stale updates,
/// generation bumped on spec changes only, status subresources, server-side apply with managedFields and
/// conflicts, watches with bookmarks and 410 Gone after history expiry, owner-reference cascade on delete,
/// CRD defaulting and validation (OpenAPI + CEL) for the agentmeter.io kinds, and discovery.
/// </summary>
public sealed partial class FakeApiServer : IAsyncDisposable
{
    private sealed class Stored(ResourceType type, JsonObject obj)
    {
        public ResourceType Type { get; } = type;
        public JsonObject Object { get; set; } = obj;
        public ManagedFields Fields { get; } = new();
    }

    private sealed record LoggedEvent(long ResourceVersion, string Type, ResourceType Resource, string? Namespace, JsonObject Object);

    private sealed class Watch(ResourceType type, string? ns, LabelSelector selector)
    {
        public ResourceType Type { get; } = type;
        public string? Namespace { get; } = ns;
        public LabelSelector Selector { get; } = selector;
        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();
    }

    private sealed record Fault(Func<RecordedRequest, bool> Match, int Status, string Reason, int? RetryAfterSeconds, int[] Remaining);

    private readonly object _gate = new();
    private readonly Dictionary<string, Stored> _objects = [];
    private readonly List<LoggedEvent> _log = [];
    private readonly List<Watch> _watches = [];
    private readonly List<Fault> _faults = [];
    private readonly IReadOnlyDictionary<string, CrdSchema> _crds = CrdSchema.LoadAll(RepoPaths.Crds);
    private long _resourceVersion = 1000;
    private long _oldestWatchable;
    private WebApplication? _app;

    public Uri Url { get; private set; } = null!;
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();
    /// <summary>Whether monitoring.coreos.com (Prometheus Operator's CRDs) is installed.</summary>
    public bool MonitoringInstalled { get; set; } = true;
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    public static async Task<FakeApiServer> StartAsync()
    {
        var server = new FakeApiServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        server._app = builder.Build();
        server._app.Run(server.HandleAsync);
        await server._app.StartAsync();
        server.Url = new Uri(server._app.Urls.First());
        return server;
    }

    /// <summary>A client for the operator under test.</summary>
    public IKubernetes CreateClient() => new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Url.ToString().TrimEnd('/') });

    /// <summary>A kubeconfig file for a process under test (the operator's or the aggregator's) that points at this server.</summary>
    public string WriteKubeconfig(string user)
    {
        var path = Path.Combine(Path.GetTempPath(), $"agentmeter-{user}-{Guid.NewGuid():N}.kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: "{Url.ToString().TrimEnd('/')}"
            contexts:
            - name: fake
              context:
                cluster: fake
                user: {user}
            users:
            - name: {user}
              user:
                token: {user}
            current-context: fake
            """);
        return path;
    }

    public const string TestClientHeader = "X-AgentMeter-Test";

    /// <summary>A client for the test itself (kubectl's role); its requests are marked so RBAC and write counts leave them out.</summary>
    public IKubernetes CreateTestClient()
    {
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Url.ToString().TrimEnd('/') });
        client.HttpClient.DefaultRequestHeaders.Add(TestClientHeader, "1");
        return client;
    }

    /// <summary>The last server-side apply configuration each object received, by "plural|namespace|name".</summary>
    public ConcurrentDictionary<string, JsonObject> LastApplied { get; } = new();

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        if (_app is not null) await _app.DisposeAsync();
    }

    // ---- test controls ----

    /// <summary>The stored object (a copy), or null.</summary>
    public JsonObject? Get(string plural, string? ns, string name)
    {
        lock (_gate) return _objects.GetValueOrDefault(Key(plural, ns, name))?.Object.DeepClone().AsObject();
    }

    public IReadOnlyList<JsonObject> List(string plural)
    {
        lock (_gate) return _objects.Values.Where(o => o.Type.Plural == plural).Select(o => o.Object.DeepClone().AsObject()).ToList();
    }

    public long CurrentResourceVersion { get { lock (_gate) return _resourceVersion; } }

    /// <summary>Forgets watch history (as etcd compaction does) and closes every watch: resuming clients get 410 Gone.</summary>
    public void ExpireWatchHistory()
    {
        lock (_gate)
        {
            _oldestWatchable = _resourceVersion + 1;
            _log.Clear();
        }
        DropWatches();
    }

    /// <summary>Closes every open watch stream, as a restarted API server or a dropped connection would.</summary>
    public void DropWatches()
    {
        lock (_gate)
        {
            foreach (var w in _watches) w.Lines.Writer.TryComplete();
            _watches.Clear();
        }
    }

    /// <summary>
    /// Answers the next <paramref name="times"/> matching requests with an error instead of serving them, with a
    /// <c>Retry-After</c> header when <paramref name="retryAfterSeconds"/> is given (as the API server's priority and
    /// fairness does with 429).
    /// </summary>
    public void InjectFault(Func<RecordedRequest, bool> match, int status, string reason, int times = 1, int? retryAfterSeconds = null)
    {
        lock (_gate) _faults.Add(new Fault(match, status, reason, retryAfterSeconds, [times]));
    }

    /// <summary>The API server recovers: every injected fault still pending is dropped.</summary>
    public void ClearFaults()
    {
        lock (_gate) _faults.Clear();
    }

    public int OpenWatches { get { lock (_gate) return _watches.Count; } }

    // ---- HTTP ----

    private async Task HandleAsync(HttpContext http)
    {
        try
        {
            await ServeAsync(http);
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            // A bug in the fake must be loud, not look like an API server answer.
            Errors.Enqueue(e);
            await WriteAsync(http, 500, StatusBody(500, "InternalError", "fake API server bug: " + e));
        }
    }

    /// <summary>Exceptions the fake itself threw; tests assert this stays empty.</summary>
    public ConcurrentQueue<Exception> Errors { get; } = new();

    private async Task ServeAsync(HttpContext http)
    {
        var request = http.Request;
        var parts = request.Path.Value!.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (TryDiscovery(parts, out var discovery))
        {
            await WriteAsync(http, discovery.Status, discovery.Body);
            return;
        }
        if (!TryParse(parts, out var type, out var ns, out var name, out var subresource))
        {
            await WriteAsync(http, 404, StatusBody(404, "NotFound", $"the server could not find the requested resource ({request.Path})"));
            return;
        }
        var query = request.Query;
        var watch = query["watch"] == "true" || query["watch"] == "1";
        var verb = request.Method switch
        {
            "GET" when watch => "watch",
            "GET" => name is null ? "list" : "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => request.Method.ToLowerInvariant(),
        };
        var resource = subresource is null ? type.Plural : $"{type.Plural}/{subresource}";
        var record = new RecordedRequest(request.Method, verb, type.Group, resource, ns, name, query["fieldManager"], request.ContentType, 0,
            FromTest: request.Headers.ContainsKey(TestClientHeader),
            // The bearer token names the user in the kubeconfigs of WriteKubeconfig: which process asked.
            User: request.Headers.Authorization.ToString() is { Length: > 7 } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : null);

        var fault = TakeFault(record);
        if (fault is not null)
        {
            Requests.Enqueue(record with { Status = fault.Status });
            if (fault.RetryAfterSeconds is { } seconds) http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteAsync(http, fault.Status, StatusBody(fault.Status, fault.Reason, $"injected {fault.Reason}"));
            return;
        }
        if (watch)
        {
            Requests.Enqueue(record with { Status = 200 });
            await ServeWatchAsync(http, type, ns, LabelSelector.Parse(query["labelSelector"]));
            return;
        }
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8)) body = await reader.ReadToEndAsync();
        var (status, response) = verb switch
        {
            "get" => GetOne(type, ns, name!),
            "list" => ListAll(type, ns, LabelSelector.Parse(query["labelSelector"]), int.TryParse(query["limit"], out var limit) ? limit : null, query["continue"]),
            "create" => Create(type, ns, Parse(body), query["fieldManager"].ToString()),
            "update" => Update(type, ns, name!, subresource, Parse(body), query["fieldManager"].ToString()),
            "patch" => Patch(type, ns, name!, subresource, request.ContentType ?? "", body, query["fieldManager"].ToString(), query["force"] == "true"),
            "delete" => Delete(type, ns, name!, Parse(body)),
            _ => (405, StatusBody(405, "MethodNotAllowed", "method not allowed")),
        };
        Requests.Enqueue(record with { Status = status });
        await WriteAsync(http, status, response);
    }

    private Fault? TakeFault(RecordedRequest record)
    {
        lock (_gate)
        {
            var fault = _faults.FirstOrDefault(f => f.Remaining[0] > 0 && f.Match(record));
            if (fault is not null) fault.Remaining[0]--;
            return fault;
        }
    }

    private static JsonObject? Parse(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try { return JsonNode.Parse(body) as JsonObject; }
        catch (System.Text.Json.JsonException) { return YamlJson.ReadDocuments(body).FirstOrDefault() as JsonObject; }
    }

    private static async Task WriteAsync(HttpContext http, int status, JsonNode body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString());
    }

    private IEnumerable<ResourceType> Served =>
        MonitoringInstalled ? ResourceType.Builtin.Concat(ResourceType.Monitoring) : ResourceType.Builtin;

    private bool TryParse(string[] parts, out ResourceType type, out string? ns, out string? name, out string? subresource)
    {
        type = null!; ns = null; name = null; subresource = null;
        string group, version;
        string[] rest;
        if (parts.Length >= 3 && parts[0] == "api") (group, version, rest) = ("", parts[1], parts[2..]);
        else if (parts.Length >= 4 && parts[0] == "apis") (group, version, rest) = (parts[1], parts[2], parts[3..]);
        else return false;
        if (rest.Length >= 3 && rest[0] == "namespaces") { ns = rest[1]; rest = rest[2..]; }
        var plural = rest[0];
        var match = Served.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);
        if (match is null || (ns is not null && !match.Namespaced)) return false;
        type = match;
        name = rest.Length > 1 ? rest[1] : null;
        subresource = rest.Length > 2 ? rest[2] : null;
        return subresource is null || (subresource == "status" && match.StatusSubresource);
    }

    private bool TryDiscovery(string[] parts, out (int Status, JsonNode Body) result)
    {
        result = default;
        if (parts is ["api"])
        {
            result = (200, new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1") });
            return true;
        }
        if (parts is ["apis"])
        {
            var groups = Served.Where(t => t.Group.Length > 0).GroupBy(t => t.Group).Select(g =>
            {
                var gv = new JsonObject { ["groupVersion"] = g.First().GroupVersion, ["version"] = g.First().Version };
                return (JsonNode)new JsonObject
                {
                    ["name"] = g.Key,
                    ["versions"] = new JsonArray(gv),
                    ["preferredVersion"] = gv.DeepClone(),
                };
            });
            result = (200, new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = new JsonArray(groups.ToArray()) });
            return true;
        }
        if (parts is ["api", _] || parts is ["apis", _, _])
        {
            var (group, version) = parts[0] == "api" ? ("", parts[1]) : (parts[1], parts[2]);
            var resources = Served.Where(t => t.Group == group && t.Version == version).ToList();
            result = resources.Count == 0
                ? (404, StatusBody(404, "NotFound", "the server could not find the requested resource"))
                : (200, new JsonObject
                {
                    ["kind"] = "APIResourceList",
                    ["groupVersion"] = resources[0].GroupVersion,
                    ["resources"] = new JsonArray(resources.Select(t => (JsonNode)new JsonObject
                    {
                        ["name"] = t.Plural, ["namespaced"] = t.Namespaced, ["kind"] = t.Kind,
                        ["verbs"] = new JsonArray("create", "delete", "get", "list", "patch", "update", "watch"),
                    }).ToArray()),
                });
            return true;
        }
        return false;
    }

    public static JsonObject StatusBody(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = code < 300 ? "Success" : "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static string Key(string plural, string? ns, string name) => $"{plural}|{ns}|{name}";
}
