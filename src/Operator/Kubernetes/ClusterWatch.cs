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
/// A watch of one custom resource across all namespaces, read line by line. KubernetesClient's Native AOT build has
/// no Watcher, so the request is sent here through the client's own HttpClient and credentials (same TLS, same
/// token refresh).
/// </summary>
public static class ClusterWatch
{
    /// <summary>
    /// Events after <paramref name="resourceVersion"/>, with bookmarks, until the server closes the stream after
    /// <paramref name="timeoutSeconds"/>. Each event's <see cref="WatchEvent.Object"/> is valid until the next one is read.
    /// A refused request throws <see cref="HttpRequestException"/> with its status code.
    /// </summary>
    public static async IAsyncEnumerable<WatchEvent> WatchAsync(IKubernetes client, string group, string version, string plural,
        string resourceVersion, int timeoutSeconds, [EnumeratorCancellation] CancellationToken ct)
    {
        if (client is not k8s.Kubernetes kubernetes)
            throw new NotSupportedException($"watching needs a {typeof(k8s.Kubernetes).FullName}, not a {client.GetType().FullName}");
        var url = $"{kubernetes.BaseUri.ToString().TrimEnd('/')}/apis/{group}/{version}/{plural}?watch=true&allowWatchBookmarks=true" +
                  $"&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={timeoutSeconds}";
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (kubernetes.Credentials is { } credentials) await credentials.ProcessHttpRequestAsync(request, ct);
        using var response = await kubernetes.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"watch of {plural} refused: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}",
                null, response.StatusCode);
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
}
