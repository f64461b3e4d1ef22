namespace AgentMeter.Operator.Machinery;

/// <summary>The cache key of an object: <c>namespace/name</c>, or the name alone for cluster-scoped objects.</summary>
public static class ObjectKey
{
    public static string Of(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";
}
