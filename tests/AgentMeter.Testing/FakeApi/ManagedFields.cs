using System.Text.Json.Nodes;

namespace AgentMeter.Testing.FakeApi;

/// <summary>
/// Field ownership of one object, as server-side apply keeps it: per manager (and subresource), the set of leaf
/// paths it set. Lists are atomic (a list is one leaf), which is how the operator's lists behave under SSA.
/// </summary>
public sealed class ManagedFields
{
    public sealed record Entry(string Manager, string Operation, string Subresource, HashSet<string> Paths, DateTime Time);

    private readonly Dictionary<(string Manager, string Operation, string Subresource), Entry> _entries = [];

    public IEnumerable<Entry> Entries => _entries.Values;

    public HashSet<string> Owned(string manager, string operation, string subresource) =>
        _entries.TryGetValue((manager, operation, subresource), out var e) ? e.Paths : [];

    public IEnumerable<(Entry Entry, string Path)> OwnersOf(IEnumerable<string> paths, string exceptManager, string exceptOperation)
    {
        var wanted = paths.ToHashSet();
        foreach (var entry in _entries.Values)
        {
            if (entry.Manager == exceptManager && entry.Operation == exceptOperation) continue;
            foreach (var p in entry.Paths.Where(wanted.Contains)) yield return (entry, p);
        }
    }

    public void Set(string manager, string operation, string subresource, HashSet<string> paths, DateTime time)
    {
        if (paths.Count == 0) _entries.Remove((manager, operation, subresource));
        else _entries[(manager, operation, subresource)] = new Entry(manager, operation, subresource, paths, time);
    }

    /// <summary>Takes <paramref name="paths"/> away from every other owner (an update or a forced apply).</summary>
    public void Release(IEnumerable<string> paths, string exceptManager, string exceptOperation)
    {
        var taken = paths.ToHashSet();
        foreach (var entry in _entries.Values.ToList())
        {
            if (entry.Manager == exceptManager && entry.Operation == exceptOperation) continue;
            entry.Paths.ExceptWith(taken);
            if (entry.Paths.Count == 0) _entries.Remove((entry.Manager, entry.Operation, entry.Subresource));
        }
    }

    public bool OwnedByAnyone(string path) => _entries.Values.Any(e => e.Paths.Contains(path));

    /// <summary>metadata.managedFields as the API server renders it (FieldsV1).</summary>
    public JsonArray Render(string apiVersion) => new(_entries.Values.OrderBy(e => e.Manager).ThenBy(e => e.Operation).Select(e =>
    {
        var fields = new JsonObject();
        foreach (var path in e.Paths.Order())
        {
            var node = fields;
            foreach (var part in path.Split('\u001f'))
                node = (JsonObject)(node["f:" + part] ??= new JsonObject());
            node["."] ??= new JsonObject();
        }
        var entry = new JsonObject
        {
            ["manager"] = e.Manager,
            ["operation"] = e.Operation,
            ["apiVersion"] = apiVersion,
            ["time"] = e.Time.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            ["fieldsType"] = "FieldsV1",
            ["fieldsV1"] = fields,
        };
        if (e.Subresource.Length > 0) entry["subresource"] = e.Subresource;
        return (JsonNode)entry;
    }).ToArray());

    public const char Separator = '\u001f';

    /// <summary>Leaf paths of a JSON tree (objects recursed, lists and scalars are leaves), minus object identity.</summary>
    public static IEnumerable<string> Leaves(JsonNode? node, string prefix = "")
    {
        if (node is JsonObject obj && obj.Count > 0)
        {
            foreach (var (key, value) in obj)
            {
                var path = prefix.Length == 0 ? key : prefix + Separator + key;
                if (path is "apiVersion" or "kind" || IsIdentity(path)) continue;
                foreach (var leaf in Leaves(value, path)) yield return leaf;
            }
        }
        else if (prefix.Length > 0)
        {
            yield return prefix;
        }
    }

    private static bool IsIdentity(string path) =>
        path.StartsWith("metadata" + Separator, StringComparison.Ordinal) &&
        path.Split(Separator)[1] is "name" or "namespace" or "uid" or "resourceVersion" or "generation" or "creationTimestamp" or "managedFields" or "deletionTimestamp";

    public static JsonNode? Get(JsonObject root, string path)
    {
        JsonNode? node = root;
        foreach (var part in path.Split(Separator))
            node = node is JsonObject o ? o[part] : null;
        return node;
    }

    public static void Put(JsonObject root, string path, JsonNode? value)
    {
        var parts = path.Split(Separator);
        var node = root;
        foreach (var part in parts[..^1])
        {
            if (node[part] is not JsonObject child) node[part] = child = new JsonObject();
            node = child;
        }
        node[parts[^1]] = value?.DeepClone();
    }

    /// <summary>Removes a leaf and any object it leaves empty.</summary>
    public static void Remove(JsonObject root, string path)
    {
        var parts = path.Split(Separator);
        var chain = new List<JsonObject> { root };
        foreach (var part in parts[..^1])
        {
            if (chain[^1][part] is not JsonObject child) return;
            chain.Add(child);
        }
        chain[^1].Remove(parts[^1]);
        for (var i = chain.Count - 1; i > 0 && chain[i].Count == 0; i--) chain[i - 1].Remove(parts[i - 1]);
    }
}
