using System.Text;
using System.Text.Json.Nodes;

namespace AgentMeter.Testing.FakeApi;

/// <summary>
/// A list's <c>metadata.continue</c>: the resourceVersion of its first page and the last key served, base64 JSON
/// as the API server's own (<c>{"v":"meta.k8s.io/v1","rv":N,"start":"key\u0000"}</c>, opaque to clients).
/// </summary>
internal sealed record ContinueToken(long ResourceVersion, string After)
{
    private const string Version = "meta.k8s.io/v1";

    public string Encode() => Convert.ToBase64String(Encoding.UTF8.GetBytes(
        new JsonObject { ["v"] = Version, ["rv"] = ResourceVersion, ["start"] = After + "\u0000" }.ToJsonString()));

    public static ContinueToken? Parse(string token)
    {
        try
        {
            var json = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)));
            return json?["v"]?.GetValue<string>() == Version && json["rv"]?.GetValue<long>() is { } rv && json["start"]?.GetValue<string>() is { } start
                ? new ContinueToken(rv, start.TrimEnd('\u0000'))
                : null;
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
