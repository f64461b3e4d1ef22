using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;

namespace AgentMeter.Operator.Kubernetes;

/// <summary>One line of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object.</summary>
public readonly record struct WatchEvent(string Type, JsonElement Object)
{
    /// <summary>The HTTP-like code of an ERROR event (its object is a v1 Status): 410 means the history is gone.</summary>
    public int? ErrorCode => Type == "ERROR" && Object.TryGetProperty("code", out var code) && code.TryGetInt32(out var c) ? c : null;
}

/// <summary>
/// List and watch of one kind across all namespaces, as JSON (KubernetesClient's Native AOT build has no Watcher).
/// A refused request throws <see cref="ApiRefusedException"/> with its status code and <c>Retry-After</c>.
/// </summary>
public static class ClusterWatch
{
    /// <summary>
    /// One page of at most <paramref name="limit"/> objects of the kind, from the start or from
    /// <paramref name="continueToken"/> (<c>metadata.continue</c> of the page before): the list's resourceVersion to
    /// watch from, and the next token unless it is the last page. Read from the stream straight into the document,
    /// without HttpClient buffering a copy of its own first. An expired token is refused with 410 Gone.
    /// </summary>
    public static async Task<JsonDocument> ListPageAsync(ApiClient client, ObjectKind kind, int limit, string? continueToken, CancellationToken ct)
    {
        var query = $"?limit={limit}" + (continueToken is null ? "" : $"&continue={Uri.EscapeDataString(continueToken)}");
        using var response = await SendAsync(client, kind, query, HttpCompletionOption.ResponseHeadersRead, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        return await JsonDocument.ParseAsync(body, cancellationToken: ct);
    }

    /// <summary>
    /// Events after <paramref name="resourceVersion"/>, with bookmarks, until the server closes the stream after
    /// <paramref name="timeoutSeconds"/>. Each event's <see cref="WatchEvent.Object"/> is valid until the next one is read.
    /// </summary>
    public static async IAsyncEnumerable<WatchEvent> WatchAsync(ApiClient client, ObjectKind kind,
        string resourceVersion, int timeoutSeconds, [EnumeratorCancellation] CancellationToken ct)
    {
        using var response = await SendAsync(client, kind,
            $"?watch=true&allowWatchBookmarks=true&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={timeoutSeconds}",
            HttpCompletionOption.ResponseHeadersRead, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(body);
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0) continue;
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            yield return new WatchEvent(root.GetProperty("type").GetString() ?? "", root.GetProperty("object"));
        }
    }

    private static Task<HttpResponseMessage> SendAsync(ApiClient client, ObjectKind kind, string query, HttpCompletionOption completion, CancellationToken ct) =>
        client.SendAsync(HttpMethod.Get, kind.CollectionPath + query, null, completion, ct);
}
