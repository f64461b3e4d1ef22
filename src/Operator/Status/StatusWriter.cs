using System.Text.Json.Nodes;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Serialization;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Status;

/// <summary>Writes a custom resource's whole status by server-side apply, and only when it differs from the live one.</summary>
public sealed class StatusWriter(ObjectApi api, OperatorMetrics metrics)
{
    public async Task<bool> WriteAsync<TStatus>(IKubernetesObject<V1ObjectMeta> resource, TStatus? live, TStatus wanted, string plural, CancellationToken ct)
        where TStatus : class
    {
        var wantedJson = ResourceDocuments.ToJson(wanted);
        if (live is not null && JsonNode.DeepEquals(ResourceDocuments.ToJson(live), wantedJson)) return false;
        var metadata = new JsonObject { ["name"] = resource.Metadata.Name };
        if (resource.Metadata.NamespaceProperty is { } ns) metadata["namespace"] = ns;
        var body = new JsonObject
        {
            ["apiVersion"] = CostRate.GroupVersion,
            ["kind"] = resource.Kind,
            ["metadata"] = metadata,
            ["status"] = wantedJson,
        };
        await api.ApplyStatusAsync(ObjectKind.Resource(resource.Kind, plural), resource.Metadata.NamespaceProperty, resource.Metadata.Name, body, ct);
        metrics.Writes.WithLabels(resource.Kind, "status").Inc();
        return true;
    }
}
