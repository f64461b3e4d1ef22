using System.Net.Http.Headers;
using System.Text.Json;

namespace AgentMeter.Testing.Processes;

/// <summary>Reads the analytics API directly, to know what the page ought to show for the same token and controls.</summary>
public sealed class AnalyticsClient(string baseUrl, string? token)
{
    private static readonly HttpClient Http = new();

    public async Task<JsonElement> GetAsync(string pathAndQuery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(baseUrl), pathAndQuery));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{pathAndQuery} answered {(int)response.StatusCode}: {body}");
        }

        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
