using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Kubernetes;

/// <summary>
/// Get, server-side apply, list and delete of the kinds the operator writes, as JSON trees, and status applies of the
/// agentmeter.io kinds (<see cref="ApiClient"/>).
/// </summary>
public sealed class ObjectApi(ApiClient client)
{
    public async Task<JsonObject?> GetAsync(ObjectKind kind, string ns, string name, CancellationToken ct)
    {
        try
        {
            return await client.JsonAsync(HttpMethod.Get, kind.ObjectPath(ns, name), null, ct);
        }
        catch (ApiRefusedException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Server-side apply of the object's owned fields with field manager <c>agentmeter-operator</c>; with
    /// <paramref name="force"/> it takes fields other managers set, without it their fields are a 409 Conflict.
    /// </summary>
    public Task<JsonObject> ApplyAsync(DesiredObject desired, bool force, CancellationToken ct) =>
        client.JsonAsync(HttpMethod.Patch, desired.Kind.ObjectPath(desired.Namespace!, desired.Name) + ApplyQuery(force),
            ApiClient.Body(desired.Body, ApiClient.ApplyPatch), ct);

    /// <summary>
    /// Deletes the object if it is still the one with <paramref name="uid"/> (a precondition: an object recreated
    /// meanwhile under the name is a 409, not deleted); a missing object is already the wanted state. Dependents go
    /// in the background, as kubectl's default.
    /// </summary>
    public async Task DeleteAsync(ObjectKind kind, string ns, string name, string uid, CancellationToken ct)
    {
        var options = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "DeleteOptions",
            ["preconditions"] = new JsonObject { ["uid"] = uid },
            ["propagationPolicy"] = "Background",
        };
        try
        {
            using var _ = await client.SendAsync(HttpMethod.Delete, kind.ObjectPath(ns, name), ApiClient.Body(options),
                HttpCompletionOption.ResponseContentRead, ct);
        }
        catch (ApiRefusedException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>Names and uids of the ConfigMaps or Secrets in <paramref name="ns"/> that carry <paramref name="labelSelector"/>.</summary>
    public async Task<IReadOnlyList<(string Name, string Uid, IDictionary<string, string>? Labels)>> ListAsync(ObjectKind kind, string ns, string labelSelector, CancellationToken ct)
    {
        var list = await client.JsonAsync(HttpMethod.Get, $"{kind.CollectionIn(ns)}?labelSelector={Uri.EscapeDataString(labelSelector)}", null, ct);
        return (list["items"]?.AsArray() ?? [])
            .Select(item => item?["metadata"]?.Deserialize(EntityJson.Info<V1ObjectMeta>()) ?? new V1ObjectMeta())
            .Select(m => (m.Name, m.Uid, (IDictionary<string, string>?)m.Labels)).ToList();
    }

    /// <summary>Server-side apply of a custom resource's status subresource.</summary>
    public async Task ApplyStatusAsync(ObjectKind kind, string? ns, string name, JsonObject body, CancellationToken ct)
    {
        using var _ = await client.SendAsync(HttpMethod.Patch, kind.ObjectPath(ns, name) + "/status" + ApplyQuery(force: true),
            ApiClient.Body(body, ApiClient.ApplyPatch), HttpCompletionOption.ResponseContentRead, ct);
    }

    /// <summary>Whether the API server serves <paramref name="group"/>/<paramref name="version"/> (discovery, as kubectl does).</summary>
    public async Task<bool> IsServedAsync(string group, string version, CancellationToken ct)
    {
        var groups = await client.JsonAsync(HttpMethod.Get, "apis", null, ct);
        return (groups["groups"]?.AsArray() ?? []).Any(g =>
            (string?)g?["name"] == group && (g["versions"]?.AsArray() ?? []).Any(v => (string?)v?["version"] == version));
    }

    /// <summary>Reads one Secret; null when it does not exist.</summary>
    public async Task<V1Secret?> ReadSecretAsync(string ns, string name, CancellationToken ct)
    {
        try
        {
            return await client.ReadAsync<V1Secret>(HttpMethod.Get, ObjectKind.Secret.ObjectPath(ns, name), null, ct);
        }
        catch (ApiRefusedException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static string ApplyQuery(bool force) =>
        $"?fieldManager={OperatorOptions.FieldManager}" + (force ? "&force=true" : "");
}
