using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AgentMeter.Operator.Tests.Scenarios;

/// <summary>
/// The API server failing under the operator's long-running loops (status sync, informers): the loop keeps going,
/// backs off, honours Retry-After, recovers when the server does, and /readyz says which loop is stalled meanwhile.
/// </summary>
public class StatusLoopTests
{
    private const string Alert = """
        apiVersion: agentmeter.io/v1alpha1
        kind: UsageAlert
        metadata: {name: calls, namespace: team-a}
        spec: {metric: callCount, threshold: "10", window: 1h}
        """;

    private static HttpClient Http(WebApplication replica) =>
        new() { BaseAddress = new Uri(replica.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };

    private static async Task<(int Status, string Body)> ReadyzAsync(HttpClient http)
    {
        // ConfigureAwait(false): the waits below block on it from a polled condition.
        using var response = await http.GetAsync("/readyz").ConfigureAwait(false);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync().ConfigureAwait(false));
    }

    private static string? State(OperatorHarness h) => h.Api.Get("usagealerts", "team-a", "calls")?["status"]?["state"]?.GetValue<string>();

    [Fact]
    public async Task ServerErrorsReadingTheAuthSecretStallStatusSyncVisiblyUntilTheServerRecovers()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Aggregator.SetAlert("team-a", "calls", "Ok", "3");
        await h.CreateAsync(Alert);
        var replica = await h.StartReplicaAsync();
        using var http = Http(replica);
        await OperatorHarness.WaitUntilAsync(() => State(h) == "Ok", "first status copied");

        // The API server answers 500 to every read of the auth Secret until it recovers.
        h.Api.InjectFault(r => r.Verb == "get" && r.Resource == "secrets" && r.Name == "agentmeter-auth" && !r.FromTest, 500, "InternalError", times: int.MaxValue);
        h.Aggregator.SetAlert("team-a", "calls", "Firing", "42");
        string body = "";
        await OperatorHarness.WaitUntilAsync(() => { var r = ReadyzAsync(http).Result; body = r.Body; return r.Status == 503; }, () => $"/readyz to fail, it says {body}");
        Assert.StartsWith("stalled: status-sync: no completed cycle for", body);
        await OperatorHarness.WaitUntilAsync(() =>
            OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "StatusSynced")?["message"]?.GetValue<string>()?.Contains("the Kubernetes API answered GET api/v1/namespaces/agentmeter/secrets/agentmeter-auth: HTTP 500") == true,
            "StatusSynced says the status read fails");
        var failures = h.Api.Requests.Count(r => r.Name == "agentmeter-auth" && r.Status == 500);
        await OperatorHarness.WaitUntilAsync(() => h.Api.Requests.Count(r => r.Name == "agentmeter-auth" && r.Status == 500) > failures + 2, "the loop keeps retrying");
        Assert.Equal("Ok", State(h));

        h.Api.ClearFaults();
        await OperatorHarness.WaitUntilAsync(() => State(h) == "Firing", "state copied again after the recovery");
        await OperatorHarness.WaitUntilAsync(() => ReadyzAsync(http).Result.Status == 200, "ready again");
        Assert.Equal("True", OperatorHarness.Condition(h.Api.Get("usagealerts", "team-a", "calls"), "StatusSynced")!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task TooManyRequestsWithRetryAfterAreRetriedInStatusSyncAndInformers()
    {
        await using var h = await OperatorHarness.StartAsync();
        h.Aggregator.SetAlert("team-a", "calls", "Firing", "42");
        await h.CreateAsync(Alert);
        // Priority and fairness pushes back on the first lists and on the auth Secret.
        h.Api.InjectFault(r => r.Verb == "list" && r.Resource == "usagealerts" && !r.FromTest, 429, "TooManyRequests", times: 2, retryAfterSeconds: 1);
        h.Api.InjectFault(r => r.Verb == "get" && r.Resource == "secrets" && r.Name == "agentmeter-auth", 429, "TooManyRequests", times: 3, retryAfterSeconds: 1);
        var replica = await h.StartReplicaAsync();

        await OperatorHarness.WaitUntilAsync(() => State(h) == "Firing", "status copied after the 429s");
        Assert.Equal(2, h.Api.Requests.Count(r => r.Verb == "list" && r.Resource == "usagealerts" && r.Status == 429));
        Assert.Equal(3, h.Api.Requests.Count(r => r.Name == "agentmeter-auth" && r.Status == 429));
        Assert.True(replica.Services.GetRequiredService<OperatorMetrics>().WatchRestarts.WithLabels("UsageAlert", "error").Value >= 2);
        using var http = Http(replica);
        await OperatorHarness.WaitUntilAsync(() => ReadyzAsync(http).Result.Status == 200, "ready");
        Assert.Empty(h.Api.Errors);
    }
}
