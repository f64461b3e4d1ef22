using System.Text.Json.Nodes;

namespace AgentMeter.Operator.Kubernetes;

/// <summary>One object the operator applies: its identity and the apply configuration (the fields it owns).</summary>
public sealed record DesiredObject(ObjectKind Kind, string? Namespace, string Name, JsonObject Body)
{
    public override string ToString() => Namespace is null ? $"{Kind.Kind}/{Name}" : $"{Kind.Kind} {Namespace}/{Name}";
}
