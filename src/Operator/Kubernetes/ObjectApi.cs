using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Configuration;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace AgentMeter.Operator.Kubernetes;

/// <summary>
/// Get, server-side apply and delete of the kinds the operator writes, as JSON trees. Core kinds go through
/// the typed CoreV1 client (the custom-objects paths only serve named groups); the rest through CustomObjects.
/// </summary>
public sealed class ObjectApi(IKubernetes client)
{
    public IKubernetes Client => client;

    public async Task<JsonObject?> GetAsync(ObjectKind kind, string ns, string name, CancellationToken ct)
    {
        try
        {
            object result = kind.Kind switch
            {
                "ConfigMap" => await client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: ct),
                "Secret" => await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct),
                "Service" => await client.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: ct),
                _ => await client.CustomObjects.GetNamespacedCustomObjectAsync(kind.Group, kind.Version, ns, kind.Plural, name, ct),
            };
            return ToJson(result);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Server-side apply of the object's owned fields with field manager <c>agentmeter-operator</c>; with
    /// <paramref name="force"/> it takes fields other managers set, without it their fields are a 409 Conflict.
    /// </summary>
    public async Task<JsonObject> ApplyAsync(DesiredObject desired, bool force, CancellationToken ct)
    {
        var patch = new V1Patch(desired.Body.ToJsonString(), V1Patch.PatchType.ApplyPatch);
        const string manager = OperatorOptions.FieldManager;
        var ns = desired.Namespace!;
        object result = desired.Kind.Kind switch
        {
            "ConfigMap" => await client.CoreV1.PatchNamespacedConfigMapAsync(patch, desired.Name, ns, fieldManager: manager, force: force, cancellationToken: ct),
            "Secret" => await client.CoreV1.PatchNamespacedSecretAsync(patch, desired.Name, ns, fieldManager: manager, force: force, cancellationToken: ct),
            "Service" => await client.CoreV1.PatchNamespacedServiceAsync(patch, desired.Name, ns, fieldManager: manager, force: force, cancellationToken: ct),
            _ => await client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, desired.Kind.Group, desired.Kind.Version, ns, desired.Kind.Plural, desired.Name, fieldManager: manager, force: force, cancellationToken: ct),
        };
        return ToJson(result);
    }

    /// <summary>
    /// Deletes the object if it is still the one with <paramref name="uid"/> (a precondition: an object recreated
    /// meanwhile under the name is a 409, not deleted); a missing object is already the wanted state.
    /// </summary>
    public async Task DeleteAsync(ObjectKind kind, string ns, string name, string uid, CancellationToken ct)
    {
        var options = new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = uid } };
        try
        {
            Task deletion = kind.Kind switch
            {
                "ConfigMap" => client.CoreV1.DeleteNamespacedConfigMapAsync(name, ns, options, cancellationToken: ct),
                "Secret" => client.CoreV1.DeleteNamespacedSecretAsync(name, ns, options, cancellationToken: ct),
                _ => client.CustomObjects.DeleteNamespacedCustomObjectAsync(kind.Group, kind.Version, ns, kind.Plural, name,
                    body: options, propagationPolicy: "Background", cancellationToken: ct),
            };
            await deletion;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>Names and uids of the ConfigMaps or Secrets in <paramref name="ns"/> that carry <paramref name="labelSelector"/>.</summary>
    public async Task<IReadOnlyList<(string Name, string Uid, IDictionary<string, string>? Labels)>> ListAsync(ObjectKind kind, string ns, string labelSelector, CancellationToken ct)
    {
        IEnumerable<V1ObjectMeta> items = kind.Kind switch
        {
            "ConfigMap" => (await client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: labelSelector, cancellationToken: ct)).Items.Select(i => i.Metadata),
            "Secret" => (await client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: labelSelector, cancellationToken: ct)).Items.Select(i => i.Metadata),
            _ => throw new NotSupportedException($"listing {kind.Kind} is not needed"),
        };
        return items.Select(m => (m.Name, m.Uid, (IDictionary<string, string>?)m.Labels)).ToList();
    }

    /// <summary>Server-side apply of a custom resource's status subresource.</summary>
    public async Task ApplyStatusAsync(string plural, string? ns, string name, JsonObject body, CancellationToken ct)
    {
        var patch = new V1Patch(body.ToJsonString(), V1Patch.PatchType.ApplyPatch);
        const string group = Entities.Resources.CostRate.Group, version = Entities.Resources.CostRate.Version;
        if (ns is null)
            await client.CustomObjects.PatchClusterCustomObjectStatusAsync(patch, group, version, plural, name,
                fieldManager: OperatorOptions.FieldManager, force: true, cancellationToken: ct);
        else
            await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(patch, group, version, ns, plural, name,
                fieldManager: OperatorOptions.FieldManager, force: true, cancellationToken: ct);
    }

    /// <summary>Whether the API server serves <paramref name="group"/>/<paramref name="version"/> (discovery, as kubectl does).</summary>
    public async Task<bool> IsServedAsync(string group, string version, CancellationToken ct)
    {
        var groups = await client.Apis.GetAPIVersionsAsync(ct);
        return groups.Groups.Any(g => g.Name == group && g.Versions.Any(v => v.Version == version));
    }

    /// <summary>Reads one Secret; null when it does not exist.</summary>
    public async Task<V1Secret?> ReadSecretAsync(string ns, string name, CancellationToken ct)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static JsonObject ToJson(object result) => result switch
    {
        JsonElement element => JsonNode.Parse(element.GetRawText())!.AsObject(),
        _ => ResourceDocuments.ToJson(result),
    };
}
