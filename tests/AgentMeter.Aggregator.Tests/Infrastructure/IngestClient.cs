using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AgentMeter.Aggregator.Tests.Infrastructure;

/// <summary>Posts to <c>/api/v1/events</c> and reads the answer as ingest tests compare it.</summary>
public static class IngestClient
{
    /// <summary>The status and, for a 400, every problem as <c>index|field|problem</c>.</summary>
    public static async Task<(HttpStatusCode Status, List<string> Errors)> PostAsync(HttpClient client, HttpContent body)
    {
        using var response = await client.PostAsync("/api/v1/events", body);
        var errors = new List<string>();
        if (response.StatusCode == HttpStatusCode.BadRequest)
            foreach (var e in (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray())
                errors.Add($"{e.GetProperty("index")}|{e.GetProperty("field").GetString()}|{e.GetProperty("problem").GetString()}");
        return (response.StatusCode, errors);
    }

    /// <summary>The events serialized as a JSON array.</summary>
    public static Task<(HttpStatusCode Status, List<string> Errors)> PostAsync(HttpClient client, params object[] events) =>
        PostAsync(client, JsonContent.Create(events));
}
