using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;

namespace AgentMeter.Testing.FakeApi;

/// <summary>
/// The tests (and the operator bench) send JSON trees as request bodies. KubernetesClient.Aot, the operator's client,
/// serializes only types it has source-generated metadata for, so the JSON tree types are added for this assembly's
/// callers — and only those: the operator code under test gets no reflection fallback that would hide an AOT gap.
/// </summary>
internal static class TestBodies
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "must run before any test or bench touches the client's shared options")]
    internal static void Register() =>
        KubernetesJson.AddJsonOptions(o => o.TypeInfoResolverChain.Add(TestBodyJson.Default));
}

[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class TestBodyJson : JsonSerializerContext;
