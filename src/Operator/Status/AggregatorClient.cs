using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Kubernetes;

namespace AgentMeter.Operator.Status;

/// <summary>Reads alert and retention state from the aggregator, with the admin token from the auth Secret when there is one.</summary>
public sealed class AggregatorClient(HttpClient http, ObjectApi api, AggregatorOptions options, string ns)
{
    private readonly Uri _baseUrl = options.ResolveUrl(ns);

    public Task<AlertsResponse> GetAlertsAsync(CancellationToken ct) => GetAsync("api/v1/alerts", AggregatorJson.Default.AlertsResponse, ct);

    public Task<BudgetsResponse> GetBudgetsAsync(CancellationToken ct) => GetAsync("api/v1/budgets", AggregatorJson.Default.BudgetsResponse, ct);

    public Task<RetentionResponse> GetRetentionAsync(CancellationToken ct) => GetAsync("api/v1/retention", AggregatorJson.Default.RetentionResponse, ct);

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_baseUrl, path));
        // Read per request: a rotated token takes effect without a restart. Never logged. An API error here is the
        // operator's own failure and propagates as it is; what the aggregator answers is AggregatorUnavailableException.
        var auth = (await api.ReadSecretAsync(ns, options.AuthSecret.Name, ct))?.Data;
        if (auth is not null && auth.TryGetValue("admin-token", out var token) && token.Length > 0)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", System.Text.Encoding.UTF8.GetString(token).Trim());
        try
        {
            using var response = await http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
                throw new AggregatorUnavailableException($"GET {path} returned {(int)response.StatusCode}");
            return await response.Content.ReadFromJsonAsync(type, ct)
                   ?? throw new AggregatorUnavailableException($"GET {path} returned an empty body");
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || (e is TaskCanceledException && !ct.IsCancellationRequested))
        {
            throw new AggregatorUnavailableException($"GET {path}: {e.Message}");
        }
    }
}

/// <summary>The aggregator did not answer as it should (down, an error status, a timeout, a body that is not its JSON).</summary>
public sealed class AggregatorUnavailableException(string message) : Exception(message);
