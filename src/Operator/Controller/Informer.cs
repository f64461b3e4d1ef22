using System.Collections.Concurrent;
using System.Text.Json;
using System.Net;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Kubernetes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace AgentMeter.Operator.Controller;

/// <summary>A change the informer saw: the object before (null when added) and after (null when deleted).</summary>
public sealed record ObjectChange<T>(T? Old, T? New);

/// <summary>
/// List-then-watch cache of one agentmeter.io kind across all namespaces: watches with bookmarks from the
/// last resourceVersion seen, relists on 410 Gone (history expired), reconnects with jittered backoff.
/// </summary>
public sealed class Informer<T>(IKubernetes client, string plural, Action<ObjectChange<T>> onChange, OperatorMetrics metrics, ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<string, T> _cache = new();
    private volatile bool _synced;

    public string Kind { get; } = typeof(T).Name;
    public bool HasSynced => _synced;
    public IReadOnlyCollection<T> Items => _cache.Values.ToList();

    public T? Get(string key) => _cache.GetValueOrDefault(key);

    public static string KeyOf(T item) => ObjectKey.Of(item.Metadata.NamespaceProperty, item.Metadata.Name);

    /// <summary>How long a watch may stay open before the client restarts it from the last resourceVersion.</summary>
    public int WatchTimeoutSeconds { get; init; } = 300;

    public async Task RunAsync(CancellationToken ct)
    {
        var failures = 0;
        // Null means "list first": at start and after 410 Gone. A dropped connection resumes the watch instead.
        string? resourceVersion = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                resourceVersion ??= await ListAsync(ct);
                failures = 0;
                resourceVersion = await WatchAsync(resourceVersion, rv => resourceVersion = rv, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                var delay = Backoff.Delay(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), failures);
                metrics.WatchRestarts.WithLabels(Kind, "error").Inc();
                logger.LogWarning("Watch of {Plural} failed ({Error}); reconnecting in {Delay:N0} ms", plural, Describe(e), delay.TotalMilliseconds);
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private async Task<string> ListAsync(CancellationToken ct)
    {
        // Untyped (a JSON tree): the client's typed path only knows the built-in kinds; ours bind through EntityJson.
        var list = (JsonElement)await client.CustomObjects.ListClusterCustomObjectAsync(
            CostRate.Group, CostRate.Version, plural, cancellationToken: ct);
        var seen = new HashSet<string>();
        foreach (var element in list.GetProperty("items").EnumerateArray())
        {
            var item = element.Deserialize(EntityJson.Info<T>())!;
            var key = KeyOf(item);
            seen.Add(key);
            Upsert(key, item);
        }
        foreach (var key in _cache.Keys.Where(k => !seen.Contains(k)).ToList())
            if (_cache.TryRemove(key, out var gone)) onChange(new ObjectChange<T>(gone, null));
        _synced = true;
        return list.GetProperty("metadata").GetProperty("resourceVersion").GetString()!;
    }

    /// <summary>Watches, resuming after each normal close; returns null to relist after 410 Gone.</summary>
    private async Task<string?> WatchAsync(string resourceVersion, Action<string> seen, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var gone = false;
            try
            {
                await foreach (var e in ClusterWatch.WatchAsync(client, CostRate.Group, CostRate.Version, plural, resourceVersion, WatchTimeoutSeconds, ct))
                {
                    if (e.Type == "ERROR")
                    {
                        if (e.ErrorCode == 410) { gone = true; break; }
                        throw new KubernetesException($"watch of {plural} failed: {e.Object.GetRawText()}");
                    }
                    var item = e.Object.Deserialize(EntityJson.Info<T>())!;
                    resourceVersion = item.Metadata.ResourceVersion ?? resourceVersion;
                    seen(resourceVersion);
                    switch (e.Type)
                    {
                        case "ADDED" or "MODIFIED":
                            Upsert(KeyOf(item), item);
                            break;
                        case "DELETED":
                            if (_cache.TryRemove(KeyOf(item), out var old)) onChange(new ObjectChange<T>(old, null));
                            break;
                    }
                }
            }
            catch (HttpRequestException e) when (e.StatusCode == HttpStatusCode.Gone)
            {
                gone = true;
            }
            if (gone)
            {
                metrics.WatchRestarts.WithLabels(Kind, "gone").Inc();
                logger.LogInformation("Watch of {Plural} expired (410 Gone); relisting", plural);
                return null;
            }
        }
        return resourceVersion;
    }

    private void Upsert(string key, T item)
    {
        // Field ownership is the API server's business; keeping it would double the cache's memory.
        item.Metadata.ManagedFields = null;
        T? old = null;
        _cache.AddOrUpdate(key, item, (_, existing) => { old = existing; return item; });
        if (old?.Metadata.ResourceVersion != item.Metadata.ResourceVersion) onChange(new ObjectChange<T>(old, item));
    }

    private static string Describe(Exception e) => e switch
    {
        HttpOperationException h => $"HTTP {(int)h.Response.StatusCode}",
        KubernetesException k => $"{k.Status?.Code} {k.Status?.Reason}: {k.Message}",
        _ => e.Message,
    };
}

public static class ObjectKey
{
    public static string Of(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";
}
