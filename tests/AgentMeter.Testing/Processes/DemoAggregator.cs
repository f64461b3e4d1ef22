namespace AgentMeter.Testing.Processes;

/// <summary>
/// <c>agentmeter-aggregator demo</c> with the CostRates of config/samples and the UsageAlerts of the tests'
/// resources folder, an admin token and one token per demo tenant; returned once the demo's closed days are
/// aggregated (no day past its grace waits, and the analytics API shows yesterday's calls) and every alert and
/// budget has been evaluated. Yesterday's calls alone are not enough: today live shows the days not aggregated
/// yet, so they appear while the catch-up pass is still working through the older days.
/// </summary>
public static class DemoAggregator
{
    public const string AdminToken = "dashboard-admin-token";

    /// <summary>The demo's tenants (src/Aggregator/Demo/DemoCatalog.cs).</summary>
    public static readonly IReadOnlyList<string> Tenants = ["acme", "globex", "initech", "umbrella"];

    public const string IngestToken = "dashboard-ingest-token";

    public static string TenantToken(string tenant) => $"dashboard-{tenant}-token";

    public static async Task<AggregatorProcess> StartAsync(int days)
    {
        var environment = new Dictionary<string, string>
        {
            ["Auth__AdminToken"] = AdminToken,
            ["Auth__IngestToken"] = IngestToken,
            ["Demo__Days"] = days.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__AgentMeter.Aggregator"] = "Information",
            ["Alerts__EvaluationInterval"] = "00:00:02",
            ["Budgets__EvaluationInterval"] = "00:00:02",
        };
        foreach (var tenant in Tenants)
        {
            environment[$"Auth__TenantTokens__{tenant}"] = TenantToken(tenant);
        }

        // The samples' CostRates only: the sample UsageAlert delivers to a public PagerDuty URL, which tests
        // must never call. The tests' own alerts have no webhooks.
        var aggregator = await AggregatorProcess.StartAsync("demo",
            ["--resources", Path.Combine(RepoPaths.Root, "config", "samples", "costrates.yaml"),
             "--resources", Path.Combine(RepoPaths.Root, "tests", "AgentMeter.Dashboard.Tests", "resources")], environment);
        try
        {
            await WaitAggregatedAsync(aggregator, TimeSpan.FromMinutes(5));
            return aggregator;
        }
        catch
        {
            await aggregator.DisposeAsync();
            throw;
        }
    }

    private static async Task WaitAggregatedAsync(AggregatorProcess aggregator, TimeSpan timeout)
    {
        var api = new AnalyticsClient(aggregator.BaseUrl, AdminToken);
        var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var usage = await api.GetAsync("/api/v1/analytics/usage?period=2d");
            var alerts = await api.GetAsync("/api/v1/alerts");
            var budgets = await api.GetAsync("/api/v1/budgets");
            var aggregation = await api.GetAsync("/api/v1/aggregation");
            if (aggregation.GetProperty("waitingDays").EnumerateArray().All(day => day.GetProperty("reason").GetString() == "Grace")
                && usage.GetProperty("series").EnumerateArray().Any(day => day.GetProperty("date").GetString() == yesterday
                    && day.GetProperty("calls").GetInt64() > 0)
                && alerts.GetProperty("alerts").GetArrayLength() > 0
                && alerts.GetProperty("alerts").EnumerateArray().All(alert => alert.GetProperty("state").GetString() != "Unknown")
                && budgets.GetProperty("budgets").GetArrayLength() > 0
                && budgets.GetProperty("budgets").EnumerateArray().All(budget => budget.GetProperty("state").ValueKind == System.Text.Json.JsonValueKind.String))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the demo had not aggregated {yesterday} and evaluated its alerts after {timeout}:\n{aggregator.Log}");
            }

            await Task.Delay(500);
        }
    }
}
