using System.Collections.Concurrent;
using System.Text.Json;
using System.Net;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Health;
using AgentMeter.Operator.Kubernetes;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Machinery;

/// <summary>
/// List-then-watch cache of one kind across all namespaces: watches with bookmarks from the last resourceVersion
/// seen, relists on 410 Gone (history expired), reconnects with jittered backoff (longer when the server asks
/// for it with Retry-After). Every list, watch event and normal watch end counts as a completed cycle for
/// <see cref="LoopHealth"/>, so an informer that keeps failing shows on <c>/readyz</c>.
/// </summary>
public sealed class Informer<T>(ApiClient client, ObjectKind kind, Action<ObjectChange<T>> onChange, OperatorMetrics metrics, LoopHealth health, ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<string, T> _cache = new();
    private volatile bool _synced;

    public string Kind => kind.Kind;
    public bool HasSynced => _synced;
    public IReadOnlyCollection<T> Items => _cache.Values.ToList();

    public T? Get(string key) => _cache.GetValueOrDefault(key);

    public static string KeyOf(T item) => ObjectKey.Of(item.Metadata.NamespaceProperty, item.Metadata.Name);

    /// <summary>How long a watch may stay open before the client restarts it from the last resourceVersion.</summary>
    public int WatchTimeoutSeconds { get; init; } = 300;

    /// <summary>Objects per list request (client-go's reflector uses 500).</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Applied to every object before it is cached (client-go's SetTransform): <see cref="CacheTransform"/>.</summary>
    public Action<T>? Transform { get; init; }

    private string LoopName => $"informer/{kind.Plural}";

    public async Task RunAsync(CancellationToken ct)
    {
        health.Start(LoopName, TimeSpan.FromSeconds(WatchTimeoutSeconds));
        try
        {
            await ListAndWatchAsync(ct);
        }
        finally
        {
            health.Stop(LoopName);
        }
    }

    private async Task ListAndWatchAsync(CancellationToken ct)
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
                var delay = Backoff.Delay(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), failures, ApiErrors.RetryAfter(e));
                metrics.WatchRestarts.WithLabels(Kind, "error").Inc();
                logger.LogWarning("Watch of {Plural} failed ({Error}); reconnecting in {Delay:N0} ms", kind.Plural, Describe(e), delay.TotalMilliseconds);
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>
    /// Lists in pages, as client-go's reflector does: one page at a time in memory, not the whole kind (10,000
    /// UsageAlerts with their status are tens of MB of JSON). Every page is of the first page's resourceVersion;
    /// a continue token that expired mid-way (410) restarts the list.
    /// </summary>
    private async Task<string> ListAsync(CancellationToken ct)
    {
        string? resourceVersion;
        while ((resourceVersion = await ListPagesAsync(ct)) is null)
        {
            metrics.WatchRestarts.WithLabels(Kind, "gone").Inc();
            logger.LogInformation("List of {Plural} expired between pages (410 Gone); listing again", kind.Plural);
        }
        return resourceVersion;
    }

    /// <summary>The list's resourceVersion, or null when its continue token expired (410 Gone) before the last page.</summary>
    private async Task<string?> ListPagesAsync(CancellationToken ct)
    {
        var seen = new HashSet<string>();
        string? resourceVersion = null;
        string? continueToken = null;
        do
        {
            JsonDocument page;
            try
            {
                // Untyped (a JSON tree): the client's typed path only knows the built-in kinds; ours bind through EntityJson.
                page = await ClusterWatch.ListPageAsync(client, kind, PageSize, continueToken, ct);
            }
            catch (HttpRequestException e) when (e.StatusCode == HttpStatusCode.Gone && continueToken is not null)
            {
                return null;
            }
            using (page)
            {
                var list = page.RootElement;
                foreach (var element in list.GetProperty("items").EnumerateArray())
                {
                    var item = element.Deserialize(EntityJson.Info<T>())!;
                    var key = KeyOf(item);
                    seen.Add(key);
                    Upsert(key, item);
                }
                var metadata = list.GetProperty("metadata");
                resourceVersion ??= metadata.GetProperty("resourceVersion").GetString()!;
                continueToken = metadata.TryGetProperty("continue", out var next) && next.GetString() is { Length: > 0 } token ? token : null;
            }
        } while (continueToken is not null);
        foreach (var key in _cache.Keys.Where(k => !seen.Contains(k)).ToList())
            if (_cache.TryRemove(key, out var gone)) onChange(new ObjectChange<T>(gone, null));
        _synced = true;
        health.Cycle(LoopName);
        return resourceVersion;
    }

    /// <summary>Watches, resuming after each normal close; returns null to relist after 410 Gone.</summary>
    private async Task<string?> WatchAsync(string resourceVersion, Action<string> seen, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var gone = false;
            try
            {
                await foreach (var e in ClusterWatch.WatchAsync(client, kind, resourceVersion, WatchTimeoutSeconds, ct))
                {
                    if (e.Type == "ERROR")
                    {
                        if (e.ErrorCode == 410) { gone = true; break; }
                        throw new KubernetesException($"watch of {kind.Plural} failed: {e.Object.GetRawText()}");
                    }
                    health.Cycle(LoopName);
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
                logger.LogInformation("Watch of {Plural} expired (410 Gone); relisting", kind.Plural);
                return null;
            }
            // The server closed the watch at its timeout: a normal cycle.
            health.Cycle(LoopName);
        }
        return resourceVersion;
    }

    private void Upsert(string key, T item)
    {
        // Field ownership is the API server's business; keeping it would double the cache's memory.
        item.Metadata.ManagedFields = null;
        Transform?.Invoke(item);
        T? old = null;
        _cache.AddOrUpdate(key, item, (_, existing) =>
        {
            old = existing;
            // A new version of a known object keeps the old one's name and uid strings: others (the events' record of
            // what was announced) hold those very instances, so every version does not add a copy of each.
            if (existing.Metadata.Uid == item.Metadata.Uid)
            {
                item.Metadata.Uid = existing.Metadata.Uid;
                item.Metadata.Name = existing.Metadata.Name;
            }
            return item;
        });
        if (old?.Metadata.ResourceVersion != item.Metadata.ResourceVersion) onChange(new ObjectChange<T>(old, item));
    }

    private static string Describe(Exception e) => e switch
    {
        KubernetesException k => $"{k.Status?.Code} {k.Status?.Reason}: {k.Message}",
        _ => ApiErrors.Describe(e),
    };
}
