using k8s.Models;

namespace AgentMeter.Entities.Resources;

/// <summary>
/// The namespace a resource belongs to. A resource read from a file may name none: it is in <c>default</c>,
/// as <c>kubectl apply</c> would put it.
/// </summary>
public static class ResourceNamespace
{
    public const string Default = "default";

    public static string Of(V1ObjectMeta metadata) => metadata.NamespaceProperty ?? Default;
}
