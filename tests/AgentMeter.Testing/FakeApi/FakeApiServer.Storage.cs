using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace AgentMeter.Testing.FakeApi;

public sealed partial class FakeApiServer
{
    private (int, JsonNode) GetOne(ResourceType type, string? ns, string name)
    {
        lock (_gate)
            return _objects.TryGetValue(Key(type.Plural, ns, name), out var stored)
                ? (200, stored.Object.DeepClone())
                : NotFound(type, name);
    }

    /// <summary>
    /// A list, whole or in pages of <paramref name="limit"/> items (ordered by namespace and name, as etcd keys are):
    /// each page but the last carries <c>metadata.continue</c>, and every page the resourceVersion of the first.
    /// A simplification of the API server: it keeps no past versions of objects, so a continue token is served only
    /// while nothing of the kind changed since the first page; after a change it has expired (410 Expired), as after
    /// an etcd compaction, and the client lists again from the start.
    /// </summary>
    private (int, JsonNode) ListAll(ResourceType type, string? ns, LabelSelector selector, int? limit, string? continueToken)
    {
        lock (_gate)
        {
            var (snapshot, after) = (_resourceVersion, "");
            if (continueToken is { Length: > 0 })
            {
                if (ContinueToken.Parse(continueToken) is not { } token)
                    return (400, StatusBody(400, "BadRequest", "continue key is not valid"));
                (snapshot, after) = (token.ResourceVersion, token.After);
                if (snapshot < _oldestWatchable - 1 || _log.Any(e => e.Resource == type && e.ResourceVersion > snapshot))
                    return (410, StatusBody(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."));
            }
            var matching = _objects.Values
                .Where(o => o.Type == type && (ns is null || Namespace(o.Object) == ns) && selector.Matches(o.Object))
                .Select(o => (Key: $"{Namespace(o.Object)}/{Name(o.Object)}", o.Object))
                .Where(o => string.CompareOrdinal(o.Key, after) > 0)
                .OrderBy(o => o.Key, StringComparer.Ordinal)
                .ToList();
            var page = limit is > 0 ? matching.Take(limit.Value).ToList() : matching;
            var metadata = new JsonObject { ["resourceVersion"] = snapshot.ToString() };
            if (page.Count < matching.Count)
            {
                metadata["continue"] = new ContinueToken(snapshot, page[^1].Key).Encode();
                metadata["remainingItemCount"] = matching.Count - page.Count;
            }
            return (200, new JsonObject
            {
                ["apiVersion"] = type.GroupVersion,
                ["kind"] = type.Kind + "List",
                ["metadata"] = metadata,
                ["items"] = new JsonArray(page.Select(o => (JsonNode)o.Object.DeepClone()).ToArray()),
            });
        }
    }

    private (int, JsonNode) Create(ResourceType type, string? ns, JsonObject? body, string manager)
    {
        if (body is null) return (400, StatusBody(400, "BadRequest", "empty body"));
        lock (_gate)
        {
            var metadata = body["metadata"] as JsonObject ?? new JsonObject();
            body["metadata"] = metadata;
            if (metadata["name"] is null && metadata["generateName"]?.GetValue<string>() is { } prefix)
                metadata["name"] = prefix + Guid.NewGuid().ToString("N")[..5];
            if (metadata["name"]?.GetValue<string>() is not { Length: > 0 } name)
                return (422, StatusBody(422, "Invalid", "metadata.name: Required value"));
            if (type.Namespaced) metadata["namespace"] = ns;
            if (_objects.ContainsKey(Key(type.Plural, ns, name)))
                return (409, StatusBody(409, "AlreadyExists", $"{type.Plural} \"{name}\" already exists"));
            if (type.StatusSubresource) body.Remove("status");
            body["apiVersion"] = type.GroupVersion;
            body["kind"] = type.Kind;
            metadata["uid"] = Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
            metadata["generation"] = 1L;
            var stored = new Stored(type, body);
            if (Admit(stored, body, null) is { } invalid) return invalid;
            stored.Fields.Set(ManagerOrDefault(manager), "Update", "", ManagedFields.Leaves(body).ToHashSet(), DateTime.UtcNow);
            _objects[Key(type.Plural, ns, name)] = stored;
            Commit(stored, "ADDED");
            return (201, stored.Object.DeepClone());
        }
    }

    private (int, JsonNode) Update(ResourceType type, string? ns, string name, string? subresource, JsonObject? body, string manager)
    {
        if (body is null) return (400, StatusBody(400, "BadRequest", "empty body"));
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(type.Plural, ns, name), out var stored)) return NotFound(type, name);
            var sent = body["metadata"]?["resourceVersion"]?.GetValue<string>();
            var current = stored.Object["metadata"]!["resourceVersion"]!.GetValue<string>();
            if (!string.IsNullOrEmpty(sent) && sent != current)
                return (409, StatusBody(409, "Conflict",
                    $"Operation cannot be fulfilled on {type.Plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"));
            var updated = Merge(stored, body, subresource);
            var changed = ManagedFields.Leaves(updated).Where(p => !JsonNode.DeepEquals(ManagedFields.Get(updated, p), ManagedFields.Get(stored.Object, p))).ToHashSet();
            return Write(stored, updated, ManagerOrDefault(manager), "Update", subresource ?? "", changed, replaceOwned: false);
        }
    }

    private (int, JsonNode) Patch(ResourceType type, string? ns, string name, string? subresource, string contentType, string body, string manager, bool force)
    {
        var patch = Parse(body);
        if (patch is null) return (400, StatusBody(400, "BadRequest", "empty patch"));
        lock (_gate)
        {
            _objects.TryGetValue(Key(type.Plural, ns, name), out var stored);
            if (contentType.StartsWith("application/apply-patch+yaml", StringComparison.Ordinal))
                return Apply(type, ns, name, subresource, patch, manager, force, stored);
            if (stored is null) return NotFound(type, name);
            if (!contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal) &&
                !contentType.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal))
                return (415, StatusBody(415, "UnsupportedMediaType", $"the fake serves apply and merge patches, not {contentType}"));
            var merged = stored.Object.DeepClone().AsObject();
            MergePatch(merged, patch);
            var updated = Merge(stored, merged, subresource);
            var changed = ManagedFields.Leaves(patch).ToHashSet();
            return Write(stored, updated, ManagerOrDefault(manager), "Update", subresource ?? "", changed, replaceOwned: false);
        }
    }

    /// <summary>Server-side apply: merge the manager's configuration, drop fields it stopped setting, 409 on others' fields unless forced.</summary>
    private (int, JsonNode) Apply(ResourceType type, string? ns, string name, string? subresource, JsonObject config, string manager, bool force, Stored? stored)
    {
        if (string.IsNullOrEmpty(manager))
            return (400, StatusBody(400, "BadRequest", "fieldManager is required for apply patch"));
        if (config["metadata"]?["name"]?.GetValue<string>() is { } configName && configName != name)
            return (400, StatusBody(400, "BadRequest", $"the name of the object ({configName}) does not match the name on the URL ({name})"));
        var isNew = stored is null;
        if (stored is null)
        {
            if (subresource is not null) return NotFound(type, name);
            var metadata = new JsonObject
            {
                ["name"] = name,
                ["uid"] = Guid.NewGuid().ToString(),
                ["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                ["generation"] = 1L,
            };
            if (type.Namespaced) metadata["namespace"] = ns;
            stored = new Stored(type, new JsonObject { ["apiVersion"] = type.GroupVersion, ["kind"] = type.Kind, ["metadata"] = metadata });
        }
        if (subresource is null) LastApplied[Key(type.Plural, ns, name)] = config.DeepClone().AsObject();
        var scope = subresource ?? "";
        var paths = ManagedFields.Leaves(config)
            .Where(p => subresource is null ? !IsStatus(p) || !type.StatusSubresource : IsStatus(p))
            .ToHashSet();
        var conflicts = stored.Fields.OwnersOf(paths, manager, "Apply")
            .Where(o => !JsonNode.DeepEquals(ManagedFields.Get(stored.Object, o.Path), ManagedFields.Get(config, o.Path)))
            .ToList();
        if (conflicts.Count > 0 && !force)
            return (409, StatusBody(409, "Conflict", "Apply failed with conflicts: " + string.Join("; ",
                conflicts.Select(c => $"conflict with \"{c.Entry.Manager}\": .{c.Path.Replace(ManagedFields.Separator, '.')}"))));
        var updated = stored.Object.DeepClone().AsObject();
        foreach (var dropped in stored.Fields.Owned(manager, "Apply", scope).Except(paths).ToList())
        {
            var othersOwn = stored.Fields.OwnersOf([dropped], manager, "Apply").Any();
            if (!othersOwn) ManagedFields.Remove(updated, dropped);
        }
        foreach (var path in paths) ManagedFields.Put(updated, path, ManagedFields.Get(config, path));
        return Write(stored, updated, manager, "Apply", scope, paths, replaceOwned: true, isNew);
    }

    private static bool IsStatus(string path) => path == "status" || path.StartsWith("status" + ManagedFields.Separator, StringComparison.Ordinal);

    /// <summary>The object after a write to the main resource (status kept) or to /status (only status taken).</summary>
    private static JsonObject Merge(Stored stored, JsonObject body, string? subresource)
    {
        var result = stored.Object.DeepClone().AsObject();
        if (subresource == "status")
        {
            result["status"] = body["status"]?.DeepClone();
            return result;
        }
        var metadata = result["metadata"]!.AsObject();
        var incoming = body["metadata"] as JsonObject ?? new JsonObject();
        foreach (var field in new[] { "labels", "annotations", "ownerReferences", "finalizers" })
            metadata[field] = incoming[field]?.DeepClone();
        foreach (var (key, value) in body)
            if (key is not ("metadata" or "status" or "apiVersion" or "kind")) result[key] = value?.DeepClone();
        foreach (var key in result.Select(kv => kv.Key).Where(k => k is not ("metadata" or "status" or "apiVersion" or "kind") && !body.ContainsKey(k)).ToList())
            result.Remove(key);
        if (!stored.Type.StatusSubresource) result["status"] = body["status"]?.DeepClone();
        return result;
    }

    /// <summary>Validates, bumps generation on spec change, records ownership, stores and notifies watchers; no-op writes change nothing.</summary>
    private (int, JsonNode) Write(Stored stored, JsonObject updated, string manager, string operation, string subresource, HashSet<string> paths, bool replaceOwned, bool isNew = false)
    {
        foreach (var key in updated.Select(kv => kv.Key).Where(k => updated[k] is null).ToList()) updated.Remove(key);
        if (Admit(stored, updated, stored.Object) is { } invalid) return invalid;
        stored.Fields.Release(paths, manager, operation);
        var owned = replaceOwned ? paths : stored.Fields.Owned(manager, operation, subresource).Union(paths).ToHashSet();
        stored.Fields.Set(manager, operation, subresource, owned, DateTime.UtcNow);
        if (isNew)
        {
            stored.Object = updated;
            _objects[Key(stored.Type.Plural, Namespace(updated), Name(updated))] = stored;
            Commit(stored, "ADDED");
            return (201, stored.Object.DeepClone());
        }
        if (JsonNode.DeepEquals(WithoutServerFields(updated), WithoutServerFields(stored.Object)))
            return (200, stored.Object.DeepClone());
        if (!JsonNode.DeepEquals(SpecPart(updated), SpecPart(stored.Object)))
            updated["metadata"]!["generation"] = Generation(stored.Object) + 1;
        stored.Object = updated;
        Commit(stored, "MODIFIED");
        return (200, stored.Object.DeepClone());
    }

    /// <summary>CRD defaulting and validation for the agentmeter.io kinds; 422 Invalid names the fields.</summary>
    private (int, JsonNode)? Admit(Stored stored, JsonObject candidate, JsonObject? previous)
    {
        if (!_crds.TryGetValue(stored.Type.Kind, out var crd) || stored.Type.Group != "agentmeter.io") return null;
        var defaulted = crd.ApplyDefaults(candidate);
        foreach (var (key, value) in defaulted) candidate[key] = value?.DeepClone();
        var problems = crd.Validate(WithoutServerFields(candidate));
        if (problems.Count == 0) return null;
        return (422, StatusBody(422, "Invalid", $"{stored.Type.Kind}.agentmeter.io \"{Name(candidate)}\" is invalid: {string.Join("; ", problems)}"));
    }

    /// <summary>Deletes, honouring DeleteOptions preconditions (uid, resourceVersion) as the API server does: 409 when they fail.</summary>
    private (int, JsonNode) Delete(ResourceType type, string? ns, string name, JsonObject? options)
    {
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(type.Plural, ns, name), out var stored)) return NotFound(type, name);
            var metadata = stored.Object["metadata"]!;
            foreach (var field in new[] { "uid", "resourceVersion" })
            {
                var wanted = options?["preconditions"]?[field]?.GetValue<string>();
                var actual = metadata[field]?.GetValue<string>();
                if (wanted is not null && wanted != actual)
                    return (409, StatusBody(409, "Conflict",
                        $"Operation cannot be fulfilled on {type.Plural} \"{name}\": Precondition failed: {(field == "uid" ? "UID" : "ResourceVersion")} in precondition: {wanted}, {(field == "uid" ? "UID" : "ResourceVersion")} in object meta: {actual}"));
            }
            DeleteCascading(stored);
            return (200, StatusBody(200, "", $"{type.Plural} \"{name}\" deleted"));
        }
    }

    /// <summary>Removes the object, then (as the garbage collector does) everything whose ownerReferences name it.</summary>
    private void DeleteCascading(Stored stored)
    {
        var uid = stored.Object["metadata"]!["uid"]!.GetValue<string>();
        _objects.Remove(Key(stored.Type.Plural, Namespace(stored.Object), Name(stored.Object)));
        Commit(stored, "DELETED");
        var dependents = _objects.Values.Where(o =>
            (o.Object["metadata"]?["ownerReferences"] as JsonArray)?.Any(r => r?["uid"]?.GetValue<string>() == uid) == true).ToList();
        foreach (var dependent in dependents) DeleteCascading(dependent);
    }

    private void Commit(Stored stored, string type)
    {
        _resourceVersion++;
        var metadata = stored.Object["metadata"]!.AsObject();
        metadata["resourceVersion"] = _resourceVersion.ToString();
        metadata["managedFields"] = stored.Fields.Entries.Any() ? stored.Fields.Render(stored.Type.GroupVersion) : null;
        if (metadata["managedFields"] is null) metadata.Remove("managedFields");
        var snapshot = stored.Object.DeepClone().AsObject();
        var evt = new LoggedEvent(_resourceVersion, type, stored.Type, Namespace(snapshot), snapshot);
        _log.Add(evt);
        var line = EventLine(type, snapshot);
        foreach (var watch in _watches.Where(w => Matches(w, evt))) watch.Lines.Writer.TryWrite(line);
    }

    private async Task ServeWatchAsync(HttpContext http, ResourceType type, string? ns, LabelSelector selector)
    {
        var query = http.Request.Query;
        var bookmarks = query["allowWatchBookmarks"] == "true";
        var timeout = int.TryParse(query["timeoutSeconds"], out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);
        var from = long.TryParse(query["resourceVersion"], out var rv) ? rv : 0;
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        var watch = new Watch(type, ns, selector);
        lock (_gate)
        {
            if (from > 0 && from < _oldestWatchable - 1)
            {
                watch.Lines.Writer.TryWrite(new JsonObject
                {
                    ["type"] = "ERROR",
                    ["object"] = StatusBody(410, "Expired", $"too old resource version: {from} ({_oldestWatchable - 1})"),
                }.ToJsonString());
                watch.Lines.Writer.TryComplete();
            }
            else
            {
                var replay = from == 0
                    ? _objects.Values.Where(o => o.Type == type && (ns is null || Namespace(o.Object) == ns) && selector.Matches(o.Object)).Select(o => EventLine("ADDED", o.Object))
                    : _log.Where(e => e.ResourceVersion > from && Matches(watch, e)).Select(e => EventLine(e.Type, e.Object));
                foreach (var line in replay) watch.Lines.Writer.TryWrite(line);
                _watches.Add(watch);
            }
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        deadline.CancelAfter(timeout);
        try
        {
            await http.Response.StartAsync(deadline.Token);
            while (!deadline.IsCancellationRequested)
            {
                var wait = watch.Lines.Reader.WaitToReadAsync(deadline.Token).AsTask();
                if (await Task.WhenAny(wait, Task.Delay(BookmarkInterval, deadline.Token)) != wait)
                {
                    if (bookmarks) await WriteLineAsync(http, BookmarkLine(type), deadline.Token);
                    continue;
                }
                if (!await wait) break;
                while (watch.Lines.Reader.TryRead(out var line)) await WriteLineAsync(http, line, deadline.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate) _watches.Remove(watch);
        }
    }

    private static async Task WriteLineAsync(HttpContext http, string line, CancellationToken ct)
    {
        await http.Response.WriteAsync(line + "\n", ct);
        await http.Response.Body.FlushAsync(ct);
    }

    private string BookmarkLine(ResourceType type)
    {
        lock (_gate)
            return new JsonObject
            {
                ["type"] = "BOOKMARK",
                ["object"] = new JsonObject
                {
                    ["apiVersion"] = type.GroupVersion, ["kind"] = type.Kind,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString() },
                },
            }.ToJsonString();
    }

    private static string EventLine(string type, JsonObject obj) =>
        new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();

    // A simplification of the API server: an object relabelled out of a watch's selector is not sent as DELETED.
    private static bool Matches(Watch watch, LoggedEvent evt) =>
        watch.Type == evt.Resource && (watch.Namespace is null || watch.Namespace == evt.Namespace) && watch.Selector.Matches(evt.Object);

    private static (int, JsonNode) NotFound(ResourceType type, string name) =>
        (404, StatusBody(404, "NotFound", $"{type.Plural}{(type.Group.Length > 0 ? "." + type.Group : "")} \"{name}\" not found"));

    private static string ManagerOrDefault(string manager) => string.IsNullOrEmpty(manager) ? "unknown" : manager;

    private static string? Namespace(JsonObject obj) => obj["metadata"]?["namespace"]?.GetValue<string>();
    private static string Name(JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? "";

    private static long Generation(JsonObject obj) => obj["metadata"]?["generation"] switch
    {
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        _ => 0,
    };

    private static JsonObject SpecPart(JsonObject obj)
    {
        var copy = obj.DeepClone().AsObject();
        copy.Remove("metadata");
        copy.Remove("status");
        return copy;
    }

    private static JsonObject WithoutServerFields(JsonObject obj)
    {
        var copy = obj.DeepClone().AsObject();
        if (copy["metadata"] is JsonObject metadata)
            foreach (var field in new[] { "resourceVersion", "managedFields", "generation", "uid", "creationTimestamp" })
                metadata.Remove(field);
        return copy;
    }

    /// <summary>RFC 7386 JSON merge patch.</summary>
    private static void MergePatch(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is null) target.Remove(key);
            else if (value is JsonObject child && target[key] is JsonObject existing) MergePatch(existing, child);
            else target[key] = value.DeepClone();
        }
    }
}
