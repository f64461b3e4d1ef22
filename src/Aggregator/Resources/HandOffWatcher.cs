using System.Text.Json;
using AgentMeter.Entities.Resources;
using k8s;

namespace AgentMeter.Aggregator.Resources;

/// <summary>
/// List/watch of the operator's hand-off objects in the aggregator's own namespace (<c>Resources__Namespace</c>):
/// ConfigMaps labelled <c>agentmeter.io/hand-off=resources</c> and Secrets labelled
/// <c>agentmeter.io/hand-off=webhook-secrets</c>. Each change is in force at once (no kubelet refresh of a mounted
/// volume), and the set of objects may grow with the namespaces it serves. Read-only: get, list and watch are all
/// its Role grants (docs/operator.md). Requests go through KubernetesClient's own HttpClient and credentials; its
/// Native AOT build has no watch helper.
/// </summary>
public sealed class HandOffWatcher(ResourceOptions options, HandOffCache cache, ResourceStore store, ILogger<HandOffWatcher> log, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!cache.Active) return;
        var config = options.Kubeconfig.Length > 0
            ? KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig)
            : KubernetesClientConfiguration.InClusterConfig();
        using var client = new k8s.Kubernetes(config);
        await Task.WhenAll(
            WatchLoopAsync(client, "configmaps", HandOff.Resources, ApplyConfigMaps, stoppingToken),
            WatchLoopAsync(client, "secrets", HandOff.WebhookSecrets, ApplySecrets, stoppingToken));
    }

    private async Task WatchLoopAsync(k8s.Kubernetes client, string plural, string handOff, Action<IReadOnlyList<(JsonElement Object, bool Deleted)>, bool> apply, CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var collection = $"api/v1/namespaces/{Uri.EscapeDataString(options.Namespace)}/{plural}?labelSelector={Uri.EscapeDataString(HandOff.Selector(handOff))}";
                string resourceVersion;
                using (var list = await SendAsync(client, collection, HttpCompletionOption.ResponseContentRead, ct))
                {
                    using var document = await JsonDocument.ParseAsync(await list.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
                    resourceVersion = document.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString() ?? "";
                    apply(document.RootElement.GetProperty("items").EnumerateArray().Select(i => (i, false)).ToList(), true);
                }
                failures = 0;
                while (!ct.IsCancellationRequested)
                {
                    var gone = false;
                    using var watch = await SendAsync(client,
                        $"{collection}&watch=true&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion={Uri.EscapeDataString(resourceVersion)}",
                        HttpCompletionOption.ResponseHeadersRead, ct);
                    using var reader = new StreamReader(await watch.Content.ReadAsStreamAsync(ct));
                    while (await reader.ReadLineAsync(ct) is { } line)
                    {
                        if (line.Length == 0) continue;
                        using var evt = JsonDocument.Parse(line);
                        var type = evt.RootElement.GetProperty("type").GetString();
                        var obj = evt.RootElement.GetProperty("object");
                        if (type == "ERROR") { gone = true; break; } // 410 Gone and the like: list again
                        resourceVersion = obj.GetProperty("metadata").GetProperty("resourceVersion").GetString() ?? resourceVersion;
                        if (type is "ADDED" or "MODIFIED" or "DELETED") apply([(obj, type == "DELETED")], false);
                    }
                    if (gone) break;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or KeyNotFoundException or InvalidOperationException)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 200 * Math.Pow(2, Math.Min(failures, 8))));
                log.LogWarning("Watching the hand-off {Plural} of namespace {Namespace} failed, again in {Delay:N0} ms: {Error}", plural, options.Namespace, delay.TotalMilliseconds, e.Message);
                await Task.Delay(delay, time, ct);
            }
        }
    }

    private void ApplyConfigMaps(IReadOnlyList<(JsonElement Object, bool Deleted)> events, bool replaceAll)
    {
        cache.SetConfigMaps(events.Select(e => (Name(e.Object), e.Deleted ? null : Data(e.Object, HandOff.ResourcesKey) ?? "")), replaceAll);
        store.Reload();
    }

    private void ApplySecrets(IReadOnlyList<(JsonElement Object, bool Deleted)> events, bool replaceAll)
    {
        var secrets = new List<(string, IReadOnlyDictionary<string, byte[]>?)>();
        foreach (var (obj, deleted) in events)
        {
            // Keys are trusted for the namespace the Secret is named for and labelled with, both: never another's.
            var name = Name(obj);
            var source = obj.GetProperty("metadata").TryGetProperty("labels", out var labels) && labels.TryGetProperty(HandOff.SourceNamespaceLabel, out var label) ? label.GetString() : null;
            if (source is null || name != HandOff.WebhookSecret(source))
            {
                log.LogWarning("Secret {Name} is labelled {Label} but is not named {Prefix}<{SourceLabel}>: ignored", name, HandOff.Selector(HandOff.WebhookSecrets), HandOff.WebhookSecretPrefix, HandOff.SourceNamespaceLabel);
                continue;
            }
            secrets.Add((source, deleted ? null : SecretData(obj)));
        }
        cache.SetSecrets(secrets, replaceAll);
    }

    private static string Name(JsonElement obj) => obj.GetProperty("metadata").GetProperty("name").GetString() ?? "";

    private static string? Data(JsonElement obj, string key) =>
        obj.TryGetProperty("data", out var data) && data.TryGetProperty(key, out var value) ? value.GetString() : null;

    private static Dictionary<string, byte[]> SecretData(JsonElement obj) =>
        obj.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
            ? data.EnumerateObject().ToDictionary(p => p.Name, p => Convert.FromBase64String(p.Value.GetString() ?? ""), StringComparer.Ordinal)
            : [];

    private static async Task<HttpResponseMessage> SendAsync(k8s.Kubernetes client, string path, HttpCompletionOption completion, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{client.BaseUri.ToString().TrimEnd('/')}/{path}");
        if (client.Credentials is { } credentials) await credentials.ProcessHttpRequestAsync(request, ct);
        var response = await client.HttpClient.SendAsync(request, completion, ct);
        if (response.IsSuccessStatusCode) return response;
        using (response)
            throw new HttpRequestException($"GET {path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}", null, response.StatusCode);
    }
}
