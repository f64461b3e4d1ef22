using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentMeter.Testing.Processes;

/// <summary>
/// A real HTTP server on loopback answering the aggregator's <c>GET /api/v1/alerts</c>, <c>/api/v1/budgets</c> and <c>/api/v1/retention</c>
/// with the shapes of docs/contracts.md; tests set what it answers. Records the Authorization header it got.
/// </summary>
public sealed class AggregatorStub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, JsonObject> _alerts = [];
    private readonly Dictionary<string, JsonObject> _budgets = [];
    private JsonObject _retention = new() { ["policy"] = new JsonObject(), ["lastRun"] = null, ["nextRunTime"] = "2026-11-30T00:00:00Z" };

    public Uri Url { get; }
    public string? LastAuthorization { get; private set; }
    public int StatusCode { get; set; } = 200;

    /// <summary>How many times <c>/api/v1/alerts</c> was read: one per status sync of the operator.</summary>
    public int AlertReads => Volatile.Read(ref _alertReads);
    private int _alertReads;

    private AggregatorStub(WebApplication app)
    {
        _app = app;
        Url = new Uri(app.Urls.First());
    }

    public static async Task<AggregatorStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        AggregatorStub? stub = null;
        app.MapGet("/api/v1/alerts", (HttpContext http) =>
        {
            Interlocked.Increment(ref stub!._alertReads);
            return stub.Serve(http, () => new JsonObject { ["alerts"] = new JsonArray(stub._alerts.Values.Select(a => (JsonNode)a.DeepClone()).ToArray()) });
        });
        app.MapGet("/api/v1/budgets", (HttpContext http) => stub!.Serve(http, () => new JsonObject { ["budgets"] = new JsonArray(stub._budgets.Values.Select(b => (JsonNode)b.DeepClone()).ToArray()) }));
        app.MapGet("/api/v1/retention", (HttpContext http) => stub!.Serve(http, () => stub._retention.DeepClone()));
        await app.StartAsync();
        stub = new AggregatorStub(app);
        return stub;
    }

    private IResult Serve(HttpContext http, Func<JsonNode> body)
    {
        lock (_gate)
        {
            LastAuthorization = http.Request.Headers.Authorization;
            return StatusCode == 200 ? Results.Text(body().ToJsonString(), "application/json") : Results.StatusCode(StatusCode);
        }
    }

    public void SetAlert(string ns, string name, string state, string currentValue, params string[] firingGroups)
    {
        lock (_gate)
        {
            _alerts[$"{ns}/{name}"] = new JsonObject
            {
                ["namespace"] = ns, ["name"] = name, ["metric"] = "cost", ["threshold"] = "100", ["window"] = "24h",
                ["severity"] = "warning", ["state"] = state, ["currentValue"] = currentValue,
                ["lastEvaluationTime"] = "2026-11-29T12:00:00Z",
                ["lastFiredTime"] = state == "Firing" ? "2026-11-29T11:59:00Z" : null,
                ["firingGroups"] = new JsonArray(firingGroups.Select(g => (JsonNode)JsonValue.Create(g)).ToArray()),
                ["groups"] = new JsonArray(), ["webhooks"] = new JsonArray(), ["error"] = null,
            };
        }
    }

    public void SetBudget(string ns, string name, string state, string spent, string projected)
    {
        lock (_gate)
            _budgets[$"{ns}/{name}"] = new JsonObject
            {
                ["namespace"] = ns, ["name"] = name, ["amount"] = "100", ["currency"] = "USD", ["period"] = "month",
                ["spent"] = spent, ["remaining"] = "0", ["percentUsed"] = "100", ["projected"] = projected, ["projectedExhaustion"] = "2026-11-20",
                ["state"] = state, ["periodStart"] = "2026-11-01T00:00:00Z", ["periodEnd"] = "2026-12-01T00:00:00Z",
                ["lastNotifiedThreshold"] = 100, ["lastEvaluationTime"] = "2026-11-29T12:00:00Z", ["error"] = null,
            };
    }

    public void SetRetention(string result, string finishedAt, string nextRunTime)
    {
        lock (_gate)
            _retention = new JsonObject
            {
                ["policy"] = new JsonObject(),
                ["lastRun"] = new JsonObject { ["startedAt"] = finishedAt, ["finishedAt"] = finishedAt, ["result"] = result, ["daysRolledUp"] = 3, ["partitionsDropped"] = 1, ["message"] = "" },
                ["nextRunTime"] = nextRunTime,
            };
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
